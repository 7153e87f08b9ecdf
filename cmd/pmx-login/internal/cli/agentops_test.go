package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/pmx-login/pmx-login/internal/helperproc"
	"github.com/pmx-login/pmx-login/internal/redistest"
	redisstore "github.com/pmx-login/pmx-login/keystore/redis"
	"github.com/pmx-login/pmx-login/session/settings"
	"github.com/pmx-login/pmx-login/traderapi"
)

// newRedisAgentRig is an agent rig on a real redis-server.
func newRedisAgentRig(t *testing.T, ttl time.Duration) *agentRig {
	t.Helper()
	rs := redistest.StartServer(t)
	keyFile := filepath.Join(t.TempDir(), "redis.key")
	if _, err := redisstore.WriteKeyFile(keyFile); err != nil {
		t.Fatal(err)
	}
	r := newAgentRig(t, ttl, settings.Settings{Keystore: "redis", RedisURL: rs.URL(), RedisKeyFile: keyFile},
		"PMX_REDIS_URL="+rs.URL(), "PMX_REDIS_KEY_FILE="+keyFile)
	r.redis = rs
	return r
}

// scrapeMetrics GETs the agent's /metrics and parses it with the
// Prometheus text parser.
func scrapeMetrics(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

func counterSum(fams map[string]*dto.MetricFamily, name string) float64 {
	s := 0.0
	for _, m := range fams[name].GetMetric() {
		s += m.GetCounter().GetValue()
	}
	return s
}

// TestAgentMetricsAndReadiness: an agent on Redis with --metrics and 3 s
// tokens. Its /metrics, parsed with the Prometheus text parser, counts the
// refresh calls the exchange saw; a real Prometheus server scraping it
// returns the same count to a query; after a logout in another process,
// /readyz answers 503 within 1 s.
func TestAgentMetricsAndReadiness(t *testing.T) {
	t.Parallel()
	const ttl = 3 * time.Second
	r := newRedisAgentRig(t, ttl)
	r.login(t)
	addr := freePort(t)
	r.start(t, true, "--metrics", addr)
	prom := startPrometheus(t, addr)
	time.Sleep(2 * ttl) // about four refreshes by the agent
	// The agent made every refresh call: its count is the exchange's.
	var got, want float64
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		want = float64(r.ex.Calls(traderapi.PathRefresh))
		got = counterSum(scrapeMetrics(t, addr), "pmx_session_refreshes_total")
		if got == want || time.Now().After(deadline) {
			break
		}
	}
	if got != want || want < 2 {
		t.Fatalf("/metrics counts %v refreshes, the exchange saw %v", got, want)
	}
	if q := prom.queryUntil(t, "sum(pmx_session_refreshes_total)", want); q != want {
		t.Fatalf("Prometheus: sum(pmx_session_refreshes_total) = %v, the exchange saw %v", q, want)
	}

	if code := readyz(t, addr); code != 200 {
		t.Fatalf("/readyz = %d before the logout", code)
	}
	if _, errOut, err := r.pmx(t, "logout"); err != nil {
		t.Fatalf("logout: %v\n%s", err, errOut)
	}
	start := time.Now()
	for readyz(t, addr) != 503 {
		if time.Since(start) > 5*time.Second {
			t.Fatal("/readyz still 200 5 s after the logout")
		}
		time.Sleep(10 * time.Millisecond)
	}
	d := time.Since(start)
	t.Logf("/metrics and Prometheus: %v refreshes, as the exchange saw; /readyz 503 %v after the logout", want, d)
	if d > time.Second {
		t.Errorf("/readyz turned 503 %v after the logout, want within 1 s", d)
	}
}

func readyz(t *testing.T, addr string) int {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// promServer is a real Prometheus server scraping one target.
type promServer struct{ addr string }

// startPrometheus runs Debian's prometheus binary on a loopback port with
// temporary storage, scraping target every second.
func startPrometheus(t *testing.T, target string) *promServer {
	t.Helper()
	bin := lookTool(t, "prometheus", "prometheus")
	dir := t.TempDir()
	cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: pmx-login-agent\n    static_configs:\n      - targets: ['%s']\n", target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &promServer{addr: freePort(t)}
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+p.addr, "--log.level=warn")
	log := &helperproc.Buffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return p
}

// queryUntil runs an instant query until it returns want or 30 s pass,
// and returns its last value.
func (p *promServer) queryUntil(t *testing.T, q string, want float64) float64 {
	t.Helper()
	var last float64 = -1
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		resp, err := http.Get("http://" + p.addr + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var r struct {
			Data struct {
				Result []struct {
					Value [2]any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		if json.Unmarshal(body, &r) != nil || len(r.Data.Result) == 0 {
			continue
		}
		s, _ := r.Data.Result[0].Value[1].(string)
		if last, _ = strconv.ParseFloat(s, 64); last == want {
			return last
		}
	}
	return last
}
