package agent

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fakeMarker records the mark and what was done to it.
type fakeMarker struct {
	needed bool
	sets   []bool
}

func (m *fakeMarker) RestartNeeded(context.Context) (bool, error) { return m.needed, nil }
func (m *fakeMarker) SetRestartNeeded(_ context.Context, needed bool) error {
	m.needed = needed
	m.sets = append(m.sets, needed)
	return nil
}

// fakeRunner records commands and answers with err.
type fakeRunner struct {
	commands []string
	err      error
}

func (r *fakeRunner) run(_ context.Context, command string) ([]byte, error) {
	r.commands = append(r.commands, command)
	if r.err != nil {
		return []byte("Failed to restart containerd.service: Unit not found."), r.err
	}
	return nil, nil
}

const restartCmd = "nsenter -t 1 -m -p -- systemctl restart containerd"

func TestInstaller(t *testing.T) {
	withRuntime := configV2 + "\n" + tableV2 + "\nruntime_type = \"io.containerd.cwasi.v1\"\n"
	tests := []struct {
		name         string
		config       string
		restart      string
		markedBefore bool
		runErr       error
		wantCommands []string
		wantSets     []bool
		wantErr      string
		wantLog      string
	}{
		{name: "edit then restart", config: configV2, restart: restartCmd,
			wantCommands: []string{restartCmd}, wantSets: []bool{true, false}, wantLog: "restarted containerd"},
		{name: "edit without a restart command marks the node", config: configV2,
			wantSets: []bool{true}, wantLog: "containerd must be restarted"},
		{name: "nothing to do", config: withRuntime, restart: restartCmd},
		{name: "a restart left pending is retried", config: withRuntime, restart: restartCmd, markedBefore: true,
			wantCommands: []string{restartCmd}, wantSets: []bool{false}},
		{name: "a pending restart without a command is logged again", config: withRuntime, markedBefore: true,
			wantLog: "containerd must be restarted"},
		{name: "a failed restart is an error and the mark stays", config: configV2, restart: restartCmd, runErr: errors.New("exit status 5"),
			wantCommands: []string{restartCmd}, wantSets: []bool{true}, wantErr: "Unit not found"},
		{name: "a conflicting config is an error", config: configV2 + "\n" + tableV2 + "\nruntime_type = \"x\"\n", restart: restartCmd,
			wantErr: "defines the cwasi runtime differently"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			source, dir, _ := shimFixture(t, "shim")
			config := filepath.Join(t.TempDir(), "config.toml")
			writeFile(t, config, tc.config, 0o644)
			marker := &fakeMarker{needed: tc.markedBefore}
			runner := &fakeRunner{err: tc.runErr}
			var logs bytes.Buffer
			in := &Installer{
				ShimSource: source, ShimDir: dir, ContainerdConfig: config,
				RestartCommand: tc.restart, Run: runner.run, Marker: marker,
				Log: slog.New(slog.NewTextHandler(&logs, nil)),
			}
			err := in.Install(context.Background())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(runner.commands, tc.wantCommands) {
				t.Errorf("ran %q, want %q", runner.commands, tc.wantCommands)
			}
			if !reflect.DeepEqual(marker.sets, tc.wantSets) {
				t.Errorf("marks %v, want %v", marker.sets, tc.wantSets)
			}
			if !strings.Contains(logs.String(), tc.wantLog) {
				t.Errorf("log lacks %q:\n%s", tc.wantLog, logs.String())
			}
		})
	}
}

func TestInstallerFailsWhenTheShimCannotBeInstalled(t *testing.T) {
	_, dir, _ := shimFixture(t, "shim")
	config := filepath.Join(t.TempDir(), "config.toml")
	writeFile(t, config, configV2, 0o644)
	in := &Installer{ShimSource: filepath.Join(dir, "absent"), ShimDir: dir, ContainerdConfig: config,
		Log: slog.New(slog.DiscardHandler)}
	if err := in.Install(context.Background()); err == nil || !strings.Contains(err.Error(), "shim") {
		t.Fatalf("err = %v", err)
	}
	if readFile(t, config) != configV2 {
		t.Error("containerd's config was edited though the shim is not installed")
	}
}
