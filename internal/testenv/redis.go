// Package testenv starts the real services the tests need (redis-server,
// FerretDB) on free loopback ports and stops them when the test ends.
package testenv

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Redis is a redis-server process owned by one test.
type Redis struct {
	Addr string // host:port
	Port int
	cmd  *exec.Cmd
	t    testing.TB
}

// URL returns a redis:// URL for the server.
func (r *Redis) URL() string { return "redis://" + r.Addr }

// StartRedis starts Debian's redis-server on a free loopback port with
// persistence off, waits until it answers PING and stops it at cleanup.
// The test is skipped when redis-server is not installed and REQUIRE_SERVICES
// is unset; `make test` sets it, so CI never skips.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("REQUIRE_SERVICES") != "" {
			t.Fatalf("testenv: redis-server not found: %v", err)
		}
		t.Skip("redis-server not installed (make test installs it)")
	}
	r := &Redis{t: t}
	r.start(bin, FreePort(t))
	t.Cleanup(r.Kill)
	return r
}

func (r *Redis) start(bin string, port int) {
	r.t.Helper()
	r.Port = port
	r.Addr = "127.0.0.1:" + strconv.Itoa(port)
	r.cmd = exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning")
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("testenv: start redis-server: %v", err)
	}
	if err := WaitRedis(r.Addr, 10*time.Second); err != nil {
		r.Kill()
		r.t.Fatalf("testenv: redis-server on %s: %v", r.Addr, err)
	}
}

// Kill stops the server with SIGKILL (a crash, not a clean shutdown) and
// waits for the process to exit. It is safe to call twice.
func (r *Redis) Kill() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	_ = r.cmd.Wait()
	r.cmd = nil
}

// Restart starts the server again on the same port after Kill.
func (r *Redis) Restart() {
	r.t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		r.t.Fatalf("testenv: %v", err)
	}
	r.start(bin, r.Port)
}

// WaitRedis polls addr with the inline PING command until it answers +PONG.
func WaitRedis(addr string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var last error
	for {
		last = pingRedis(addr)
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready after %v: %w", timeout, last)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func pingRedis(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("unexpected reply %q", line)
	}
	return nil
}
