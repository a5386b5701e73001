package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// RepoRoot returns the directory of the main module's go.mod, found by
// walking up from the working directory (a test runs in its package dir).
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("testenv: getwd: %v", err)
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			bytes.Contains(data, []byte("module github.com/tradedash/realtime\n")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("testenv: no go.mod of github.com/tradedash/realtime above the working directory")
		}
		dir = parent
	}
}

// Node runs the Node compat tooling in <repo>/compat-tests.
type Node struct {
	Bin string // node executable
	Dir string // <repo>/compat-tests
	t   testing.TB
}

// RequireNode returns a Node runner. The test is skipped when node or
// compat-tests/node_modules is missing and REQUIRE_SERVICES is unset (then
// it fails instead).
func RequireNode(t testing.TB) *Node {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("REQUIRE_SERVICES") != "" {
			t.Fatalf("testenv: "+format, args...)
		}
		t.Skipf(format, args...)
	}
	bin, err := exec.LookPath("node")
	if err != nil {
		missing("node not installed: %v", err)
	}
	dir := filepath.Join(RepoRoot(t), "compat-tests")
	if _, err := os.Stat(filepath.Join(dir, "node_modules")); err != nil {
		missing("compat-tests/node_modules missing (run npm ci in compat-tests): %v", err)
	}
	return &Node{Bin: bin, Dir: dir, t: t}
}

// Run runs `node <script> args...` in compat-tests with a deadline and
// returns stdout. A non-zero exit fails the test with stdout and stderr.
func (n *Node) Run(ctx context.Context, script string, args ...string) []byte {
	n.t.Helper()
	out, err := n.TryRun(ctx, script, args...)
	if err != nil {
		n.t.Fatalf("testenv: node %s %s: %v", script, strings.Join(args, " "), err)
	}
	return out
}

// TryRun is Run that returns the failure instead of failing the test.
func (n *Node) TryRun(ctx context.Context, script string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, n.Bin, append([]string{script}, args...)...)
	cmd.Dir = n.Dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), &NodeError{Err: err, Stdout: stdout.String(), Stderr: stderr.String()}
	}
	return stdout.Bytes(), nil
}

// NodeError is a failed node run.
type NodeError struct {
	Err            error
	Stdout, Stderr string
}

func (e *NodeError) Error() string {
	return e.Err.Error() + "\nstdout: " + e.Stdout + "\nstderr: " + e.Stderr
}

func (e *NodeError) Unwrap() error { return e.Err }

// SessionLogin is what `node sessions/cli.js login` prints.
type SessionLogin struct {
	SID    string `json:"sid"`    // raw express-session id
	Signed string `json:"signed"` // s:<sid>.<sig>, not URL-encoded
	Cookie string `json:"cookie"` // the Set-Cookie header value
}

// SessionLogin logs in through the Express fixture app (compat-tests/sessions)
// with the given cli flags (see cli.js) and returns the session it created.
func (n *Node) SessionLogin(ctx context.Context, args ...string) SessionLogin {
	n.t.Helper()
	out := n.Run(ctx, "sessions/cli.js", append([]string{"login"}, args...)...)
	var res SessionLogin
	if err := json.Unmarshal(out, &res); err != nil || res.SID == "" {
		n.t.Fatalf("testenv: sessions login output %q: %v", out, err)
	}
	return res
}

// SessionLogout destroys a session through the Express fixture app and
// reports whether the app found it alive.
func (n *Node) SessionLogout(ctx context.Context, args ...string) bool {
	n.t.Helper()
	out := n.Run(ctx, "sessions/cli.js", append([]string{"logout"}, args...)...)
	var res struct {
		Destroyed bool `json:"destroyed"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		n.t.Fatalf("testenv: sessions logout output %q: %v", out, err)
	}
	return res.Destroyed
}
