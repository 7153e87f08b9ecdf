package cli

import (
	"strings"
	"testing"
)

// Every command has --help with an example, on stdout, exit 0; `help CMD`
// says the same.
func TestHelpEveryCommand(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for _, c := range commands() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			args := append(strings.Fields(c.name), "--help")
			r := f.run(t, "", args...)
			wantCode(t, r, 0)
			for _, want := range []string{"Usage: pmx-login " + c.name, "Example:\n  ", "Global flags:", "--timeout"} {
				if !strings.Contains(r.out, want) {
					t.Errorf("%s --help lacks %q:\n%s", c.name, want, r.out)
				}
			}
			if r.err != "" {
				t.Errorf("--help wrote to stderr: %q", r.err)
			}
			h := f.run(t, "", append([]string{"help"}, strings.Fields(c.name)...)...)
			if h.code != 0 || h.out != r.out {
				t.Errorf("help %s differs from %s --help:\n%s", c.name, c.name, h.out)
			}
		})
	}
}

func TestMainHelpListsCommands(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"--json", "help"}} {
		r := f.run(t, "", args...)
		wantCode(t, r, 0)
		for _, c := range commands() {
			if !strings.Contains(r.out, "  "+c.name+" ") {
				t.Errorf("%v: the command list lacks %q", args, c.name)
			}
		}
		for _, want := range []string{"Exit codes:", "--password-stdin", "PMX_ENV", "--keystore"} {
			if !strings.Contains(r.out, want) {
				t.Errorf("%v: help lacks %q", args, want)
			}
		}
	}
}

// Bad command lines exit 2 with one line naming what was wrong and a hint.
func TestUsageErrors(t *testing.T) {
	t.Parallel()
	f := setup(t)
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"unknown command", nil, []string{"lgoin"}, `unknown command "lgoin"`},
		{"group without subcommand", nil, []string{"mfa"}, `"mfa" needs a subcommand: mfa enroll, mfa confirm, mfa code`},
		{"unknown mfa subcommand", nil, []string{"mfa", "bogus"}, `unknown command "mfa bogus"`},
		{"unknown flag", nil, []string{"login", "--password"}, "unknown flag: --password"},
		{"flag without value", nil, []string{"status", "--env"}, "flag needs an argument"},
		{"extra argument", nil, []string{"status", "now"}, `unexpected argument "now"`},
		{"unknown env", map[string]string{"PMX_BASE_URL": ""}, []string{"status", "--env", "staging"}, `unknown --env "staging"`},
		{"bad keystore", nil, []string{"status", "--keystore", "vault"}, `--keystore "vault": use keyring, file, redis or memory`},
		{"bad PMX_TIMEOUT", map[string]string{"PMX_TIMEOUT": "soon"}, []string{"status"}, `PMX_TIMEOUT="soon" is not a positive duration`},
		{"bad PMX_JSON", map[string]string{"PMX_JSON": "maybe"}, []string{"status"}, `PMX_JSON="maybe" is not a boolean`},
		{"bad timeout", nil, []string{"status", "--timeout", "-1s"}, "--timeout -1s is not positive"},
		{"bad base URL", nil, []string{"token", "--base-url", "ftp://x"}, "is not an http(s) URL"},
		{"token and token file", nil, []string{"register", "--token", "a", "--token-file", "b"}, "give --token-file or --token, not both"},
		{"no registration token", nil, []string{"register", "--password-stdin"}, "no registration token"},
		{"no username", map[string]string{"PMX_USERNAME": ""}, []string{"login", "--password-stdin"}, "no username given"},
		{"password not on a terminal", nil, []string{"login", "--username", testUser}, "stdin is not a terminal"},
		{"confirm without a code", nil, []string{"mfa", "confirm", "--username", testUser, "--password-stdin"}, "no code: give --otp -"},
		{"sandbox on a bad address", nil, []string{"sandbox", "--addr", "256.0.0.1:99999"}, "cannot listen on"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := &fixture{srv: f.srv, dir: f.dir, vars: map[string]string{}}
			for k, v := range f.vars {
				g.vars[k] = v
			}
			for k, v := range tt.env {
				g.vars[k] = v
			}
			r := g.run(t, testPassword+"\n", tt.args...)
			if r.code != exitUsage {
				t.Fatalf("exit %d, want 2\n%v", r.code, r)
			}
			if !strings.Contains(r.err, tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, r.err)
			}
			last := strings.TrimSpace(r.err)
			last = last[strings.LastIndex(last, "\n")+1:]
			if !strings.HasPrefix(last, "pmx-login: ") || !strings.Contains(last, "(") {
				t.Errorf("the error line is not `pmx-login: message (hint)`: %q", last)
			}
		})
	}
}

// With no command, the help goes to stderr and the exit code is 2.
func TestNoCommand(t *testing.T) {
	t.Parallel()
	r := setup(t).run(t, "")
	if r.code != exitUsage || !strings.Contains(r.err, "Commands:") || r.out != "" {
		t.Fatalf("no command: %v", r)
	}
}
