package main

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tradedash/realtime/internal/testenv"
)

// runServer builds and starts the real binary with env and returns it with
// a channel of its stderr lines.
func runServer(t *testing.T, env ...string) (*exec.Cmd, <-chan string) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "server")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), append([]string{"HOST=127.0.0.1", "PORT=" + strconv.Itoa(testenv.FreePort(t))}, env...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	return cmd, lines
}

func waitLine(t *testing.T, lines <-chan string, substr string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("stderr ended before %q", substr)
			}
			if strings.Contains(l, substr) {
				return
			}
		case <-deadline:
			t.Fatalf("no %q on stderr", substr)
		}
	}
}

func waitExit(t *testing.T, cmd *exec.Cmd, within time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatalf("wait: %v", err)
		}
		return 0
	case <-time.After(within):
		t.Fatalf("still running after %v", within)
		return -1
	}
}

// TestSignals: one SIGTERM shuts down gracefully (exit 0 after the grace);
// a second signal during the grace exits at once with status 1.
func TestSignals(t *testing.T) {
	t.Run("graceful", func(t *testing.T) {
		cmd, lines := runServer(t, "SHUTDOWN_GRACE_MS=200")
		waitLine(t, lines, "msg=listening")
		_ = cmd.Process.Signal(syscall.SIGTERM)
		if code := waitExit(t, cmd, 10*time.Second); code != 0 {
			t.Fatalf("exit code %d, want 0", code)
		}
	})
	t.Run("second signal", func(t *testing.T) {
		cmd, lines := runServer(t, "SHUTDOWN_GRACE_MS=60000")
		waitLine(t, lines, "msg=listening")
		_ = cmd.Process.Signal(syscall.SIGTERM)
		waitLine(t, lines, "shutting down")
		start := time.Now()
		_ = cmd.Process.Signal(syscall.SIGINT)
		if code := waitExit(t, cmd, 5*time.Second); code != 1 {
			t.Fatalf("exit code %d, want 1", code)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("second signal took %v", d)
		}
	})
}
