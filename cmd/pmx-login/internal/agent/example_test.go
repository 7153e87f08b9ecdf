package agent_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/pmx-login/pmx-login/cmd/pmx-login/internal/agent"
	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/session"
	"github.com/pmx-login/pmx-login/traderapi"
	"github.com/pmx-login/pmx-login/traderapi/traderapitest"
)

// An agent over a memory store serves the session's token on its socket;
// a client (the CLI's, here) asks it.
func Example() {
	exchange := traderapitest.NewServer(traderapitest.Options{})
	defer exchange.Close()
	_ = exchange.AddUser("trader1", "correct-horse-42-battery")
	store := keystore.NewMemory()
	open := func() (*agent.Backend, error) {
		client, err := exchange.Client()
		if err != nil {
			return nil, err
		}
		m, err := session.New(session.Config{Client: client, Store: store})
		return &agent.Backend{Manager: m, Store: store}, err
	}
	// Someone logs in (`pmx-login login`); the agent takes the session up.
	login, _ := open()
	_ = login.Manager.Login(context.Background(), "trader1", traderapi.Secret("correct-horse-42-battery"), "")
	login.Manager.Close()

	ag, err := agent.New(agent.Config{Open: open})
	if err != nil {
		panic(err)
	}
	dir, _ := os.MkdirTemp("", "agent-example-")
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "run", "preprod.sock")
	l, err := agent.Listen(sock)
	if err != nil {
		panic(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = agent.Serve(ctx, l, ag.SocketHandler(), time.Second, nil); close(done) }()
	go func() { _ = ag.Run(ctx) }()
	defer func() { stop(); <-done; ag.Close() }()

	for ag.Ready() != nil { // Run resumes the stored session at once
		time.Sleep(time.Millisecond)
	}
	var tok agent.TokenJSON
	ans, err := agent.NewClient(sock).Get(ctx, agent.PathToken, &tok)
	fmt.Println(ans.Username, err, tok.Token != "")
	// Output: trader1 <nil> true
}
