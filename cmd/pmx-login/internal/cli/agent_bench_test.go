package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pmx-login/pmx-login/cmd/pmx-login/internal/agent"
	"github.com/pmx-login/pmx-login/session/settings"
	"github.com/pmx-login/pmx-login/traderapi"
)

// benchRig is an agent process on the file store with a 1 h token, and its
// proxy's address.
func benchRig(b *testing.B) (*agentRig, string) {
	r := newAgentRig(b, time.Hour, settings.Settings{})
	r.login(b)
	addr := freePort(b)
	r.start(b, true, "--proxy", addr)
	return r, addr
}

// measure runs op b.N times and reports its p50 and p99 in µs.
func measure(b *testing.B, op func() error) {
	ds := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		if err := op(); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(ds)
	at := func(q float64) float64 { return float64(ds[int(q*float64(len(ds)-1))]) / 1e3 }
	b.ReportMetric(at(0.50), "p50-µs")
	b.ReportMetric(at(0.99), "p99-µs")
}

// The token over the agent's socket (a new connection each time, as a
// one-shot client makes) against `pmx-login token` as a process (store
// only, --no-agent).
func BenchmarkAgentToken(b *testing.B) {
	r, _ := benchRig(b)
	b.Run("socket", func(b *testing.B) {
		c := agent.NewClient(r.sock)
		measure(b, func() error {
			var tj agent.TokenJSON
			_, err := c.Get(context.Background(), agent.PathToken, &tj)
			return err
		})
	})
	b.Run("socket-keepalive", func(b *testing.B) {
		c := unixHTTPClient(r.sock)
		defer c.CloseIdleConnections()
		measure(b, func() error {
			resp, err := c.Get("http://agent" + agent.PathToken)
			if err != nil {
				return err
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return err
		})
	})
	b.Run("process", func(b *testing.B) {
		bin := pmxBinary(b)
		measure(b, func() error {
			cmd := exec.Command(bin, "token", "--no-agent")
			cmd.Env = r.env
			return cmd.Run()
		})
	})
}

// An order through the agent's proxy against the same order sent directly
// with the token, both over kept-alive connections.
func BenchmarkAgentProxy(b *testing.B) {
	r, addr := benchRig(b)
	tok, _, err := r.pmx(b, "token")
	if err != nil {
		b.Fatal(err)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	send := func(url, host, auth string) func() error {
		return func() error {
			req, _ := http.NewRequest(http.MethodPost, url+traderapi.PathInsertOrder, strings.NewReader(`{"symbol":"TEST-1","side":"BUY","quantity":1,"price":"0.5"}`))
			req.Host = host
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := hc.Do(req)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("order: %s", resp.Status)
			}
			return nil
		}
	}
	b.Run("direct", func(b *testing.B) { measure(b, send(r.ex.URL, r.ex.Host(), strings.TrimSpace(tok))) })
	b.Run("proxy", func(b *testing.B) { measure(b, send("http://"+addr, "", "")) })
}

// The agent's resident memory at rest: ready, socket and proxy open, after
// a second idle.
func BenchmarkAgentRSS(b *testing.B) {
	r, _ := benchRig(b)
	time.Sleep(time.Second)
	var kb float64
	for b.Loop() {
		status, err := os.ReadFile("/proc/" + strconv.Itoa(r.cmd.Process.Pid) + "/status")
		if err != nil {
			b.Skip("no /proc")
		}
		for line := range bytes.Lines(status) {
			if f := strings.Fields(string(line)); len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ = strconv.ParseFloat(f[1], 64)
			}
		}
	}
	b.ReportMetric(kb/1024, "RSS-MB")
}
