package cli

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/pflag"
)

type versionOptions struct{ *app }

func versionCommand() command {
	return command{
		name:    "version",
		summary: "Print the version of pmx-login and of Go it was built with",
		example: `pmx-login version
pmx-login version --json`,
		setup: func(a *app, _ *pflag.FlagSet) func(context.Context) error {
			o := &versionOptions{app: a}
			return func(context.Context) error { return runVersion(o) }
		},
	}
}

func runVersion(o *versionOptions) error {
	version, commit := buildVersion()
	if o.g.json {
		return writeJSON(o.io.Out, map[string]any{
			"version": version, "commit": nilIfEmpty(commit), "go": runtime.Version(), "platform": runtime.GOOS + "/" + runtime.GOARCH,
		})
	}
	fmt.Fprintf(o.io.Out, "pmx-login %s (%s, %s/%s)", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if commit != "" {
		fmt.Fprintf(o.io.Out, " commit %s", commit)
	}
	fmt.Fprintln(o.io.Out)
	return nil
}

// buildVersion reads the module version ("devel" for a build from a work
// tree) and the VCS revision from the build info.
func buildVersion() (version, commit string) {
	version = "devel"
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return version, ""
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		version = v
	}
	modified := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value[:min(12, len(s.Value))]
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if commit != "" && modified {
		commit += "+dirty"
	}
	return version, commit
}
