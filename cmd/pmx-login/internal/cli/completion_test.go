package cli

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// completionScript writes `pmx-login completion shell` to a file.
func completionScript(t *testing.T, shell string) string {
	t.Helper()
	r := setup(t).run(t, "", "completion", shell)
	if r.code != 0 || r.err != "" {
		t.Fatalf("completion %s: %s", shell, r)
	}
	p := filepath.Join(t.TempDir(), "pmx-login."+shell)
	if err := os.WriteFile(p, []byte(r.out), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// bashDriver loads the script (bash splits "--env=pr" into "--env", "=",
// "pr", so the cases give the words that way), sets COMP_WORDS to its arguments (the last
// one being completed), calls the completion function that `complete`
// registered for pmx-login and prints COMPREPLY, one word a line.
const bashDriver = `set -u
source "$SCRIPT"
spec=$(complete -p pmx-login) || exit 3
fn=${spec#*-F }; fn=${fn%% *}
COMP_WORDS=("$@")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
COMPREPLY=()
"$fn"
printf '%s\n' "${COMPREPLY[@]}"
`

// TestCompletionBash: the bash script, loaded in a real bash, completes
// commands, group subcommands, flags and the values of --env and
// --keystore.
func TestCompletionBash(t *testing.T) {
	t.Parallel()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	script := completionScript(t, "bash")
	tests := []struct {
		words []string
		want  []string
	}{
		{[]string{"pmx-login", "lo"}, []string{"login", "logout"}},
		{[]string{"pmx-login", "m"}, []string{"mfa"}},
		{[]string{"pmx-login", "mfa", ""}, []string{"enroll", "confirm", "code"}},
		{[]string{"pmx-login", "--env", "prod", "mfa", "c"}, []string{"confirm", "code"}},
		{[]string{"pmx-login", "--env", "p"}, []string{"preprod", "prod"}},
		{[]string{"pmx-login", "login", "--env", "=", "d"}, []string{"dev01"}},
		{[]string{"pmx-login", "login", "--env", "="}, []string{"dev01", "preprod", "prod"}},
		{[]string{"pmx-login", "status", "--keystore", ""}, []string{"keyring", "file", "redis", "memory"}},
		{[]string{"pmx-login", "login", "--o"}, []string{"--otp"}},
		{[]string{"pmx-login", "mfa", "enroll", "--st"}, []string{"--store-secret"}},
		{[]string{"pmx-login", "--keystore", "file", "isv", "token", "--par"}, []string{"--participant-id"}},
		{[]string{"pmx-login", "token", "--js"}, []string{"--json"}},
		{[]string{"pmx-login", "completion", ""}, []string{"bash", "zsh", "fish"}},
		{[]string{"pmx-login", "--ke"}, []string{"--keystore"}},
		{[]string{"pmx-login", "login", ""}, nil},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.words, "_"), func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bash, append([]string{"--norc", "--noprofile", "-c", bashDriver, "bash"}, tt.words...)...)
			cmd.Env = append(os.Environ(), "SCRIPT="+script)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("bash: %v\n%s", err, out)
			}
			got := strings.Fields(string(out))
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("completing %q = %q, want %q", tt.words, got, tt.want)
			}
		})
	}
}

// TestCompletionEveryCommand: every command of the table, and every one of
// its flags, is in each shell's script.
func TestCompletionEveryCommand(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for _, shell := range completionShells {
		out := f.run(t, "", "completion", shell).out
		for _, c := range commands() {
			last := c.name[strings.LastIndex(c.name, " ")+1:]
			if !strings.Contains(out, last) {
				t.Errorf("%s script lacks command %q", shell, c.name)
			}
			for _, fl := range newCompletionData().flags[c.name] {
				if !strings.Contains(out, fl.name) {
					t.Errorf("%s script lacks %s's flag --%s", shell, c.name, fl.name)
				}
			}
		}
	}
}

// TestCompletionUsage: no shell, or an unknown one, is a usage error (exit
// 2) that names the shells.
func TestCompletionUsage(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for _, args := range [][]string{{"completion"}, {"completion", "powershell"}} {
		r := f.run(t, "", args...)
		if r.code != 2 || !strings.Contains(r.err, "bash, zsh, fish") || r.out != "" {
			t.Errorf("%q: %s", args, r)
		}
	}
}

// TestCompletionJSON: with --json the script is the "script" field, the
// same text as without.
func TestCompletionJSON(t *testing.T) {
	t.Parallel()
	f := setup(t)
	plain := f.run(t, "", "completion", "fish")
	r := f.run(t, "", "--json", "completion", "fish")
	var got struct{ Shell, Script string }
	if err := json.Unmarshal([]byte(r.out), &got); err != nil || r.code != 0 {
		t.Fatalf("--json completion fish: %v\n%s", err, r)
	}
	if got.Shell != "fish" || got.Script != plain.out {
		t.Errorf("JSON script differs from the plain one (shell %q)", got.Shell)
	}
}
