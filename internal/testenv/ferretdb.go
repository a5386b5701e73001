package testenv

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// FerretDB is a FerretDB process (bin/ferretdb, SQLite backend) owned by one
// test. Its data directory survives Kill, so Restart brings the same data back.
type FerretDB struct {
	Addr string // host:port
	Port int
	Dir  string // SQLite data directory

	bin    string
	cmd    *exec.Cmd
	stderr *lockedBuffer
	t      testing.TB
}

// URI returns a mongodb:// URI for the server (no database in the path).
func (f *FerretDB) URI() string { return "mongodb://" + f.Addr + "/" }

// FerretDBBinary returns the launcher path: $FERRETDB_BIN, else
// <repo>/bin/ferretdb (built by `make test` from tools/ferretdb).
func FerretDBBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("FERRETDB_BIN"); p != "" {
		return p
	}
	return filepath.Join(RepoRoot(t), "bin", "ferretdb")
}

// StartFerretDB starts bin/ferretdb on a free loopback port with a fresh
// data directory, waits until it answers a MongoDB ping and kills it at
// cleanup. The test is skipped when the binary is missing and
// REQUIRE_SERVICES is unset (then it fails instead).
func StartFerretDB(t testing.TB) *FerretDB {
	t.Helper()
	bin := FerretDBBinary(t)
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("REQUIRE_SERVICES") != "" {
			t.Fatalf("testenv: ferretdb binary: %v (build it: cd tools/ferretdb && go build -o ../../bin/ferretdb .)", err)
		}
		t.Skipf("ferretdb binary %s missing (make test builds it)", bin)
	}
	f := &FerretDB{bin: bin, Dir: t.TempDir(), t: t}
	f.start(FreePort(t))
	t.Cleanup(f.Kill)
	return f
}

func (f *FerretDB) start(port int) {
	f.t.Helper()
	f.Port = port
	f.Addr = "127.0.0.1:" + strconv.Itoa(port)
	f.stderr = &lockedBuffer{}
	f.cmd = exec.Command(f.bin, "-listen", f.Addr, "-dir", f.Dir, "-log-level", "error")
	f.cmd.Stderr = f.stderr
	f.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := f.cmd.Start(); err != nil {
		f.t.Fatalf("testenv: start ferretdb: %v", err)
	}
	if err := WaitMongo(f.URI(), 30*time.Second); err != nil {
		out := f.stderr.String()
		f.Kill()
		f.t.Fatalf("testenv: ferretdb on %s: %v\nstderr:\n%s", f.Addr, err, out)
	}
}

// Kill stops the server with SIGKILL (a crash) and waits for it to exit.
// It is safe to call twice.
func (f *FerretDB) Kill() {
	if f.cmd == nil || f.cmd.Process == nil {
		return
	}
	_ = f.cmd.Process.Signal(syscall.SIGKILL)
	_ = f.cmd.Wait()
	f.cmd = nil
}

// Stop asks the server to shut down with SIGTERM and returns its exit error
// (nil for a clean exit), failing the test if it does not exit in time.
func (f *FerretDB) Stop() error {
	f.t.Helper()
	if f.cmd == nil || f.cmd.Process == nil {
		return nil
	}
	_ = f.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	cmd := f.cmd
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		f.cmd = nil
		return err
	case <-time.After(15 * time.Second):
		f.Kill()
		f.t.Fatalf("testenv: ferretdb did not exit within 15s of SIGTERM")
		return nil
	}
}

// Restart starts the server again on the same port and data directory
// after Kill or Stop.
func (f *FerretDB) Restart() {
	f.t.Helper()
	f.Kill()
	f.start(f.Port)
}

// WaitMongo connects to uri and runs the ping command until it succeeds.
func WaitMongo(uri string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	client, err := mongo.Connect(ctx, options.Client().ApplyURI(uri).
		SetServerSelectionTimeout(500*time.Millisecond).SetConnectTimeout(500*time.Millisecond))
	if err != nil {
		return err
	}
	defer func() { _ = client.Disconnect(context.Background()) }()
	var last error
	for {
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		last = client.Database("admin").RunCommand(pctx, bson.D{{Key: "ping", Value: 1}}).Err()
		pcancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready after %v: %w", timeout, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// lockedBuffer collects a child's stderr for failure messages.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 64<<10 { // keep the head; enough to diagnose a failed start
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
