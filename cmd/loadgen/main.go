// Command loadgen drives a Socket.IO server (ours or the Node reference)
// with many clients over loopback and prints ONE JSON result line on stdout.
//
// Scenarios (-scenario):
//
//	connect  handshake + auth + subscribe of -n clients, -concurrency at a
//	         time: connects/s, latency p50/p99, failures
//	idle     connect -n subscribed clients, let them sit -settle, report the
//	         server's RSS growth per client (needs -pid)
//	fanout   -n clients in watchlist:BENCH, a producer POSTing quote:update
//	         to /internal/emit at -rate publishes/s (0: as fast as the
//	         clients take them, -window publishes in flight) for -duration:
//	         deliveries/s, publish-to-receive latency, lost messages, server
//	         CPU per delivery (needs -pid)
//	echo     -n clients each sending ping with an ack in a loop: acks/s,
//	         latency
//
// Every run stops by itself: -deadline bounds the whole process.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"

	"github.com/tradedash/realtime/internal/sioclient"
)

// options are the command line.
type options struct {
	url         string
	pid         int
	scenario    string
	transport   sioclient.Transport
	n           int
	concurrency int
	sessions    string
	emitToken   string
	rate        float64
	window      int
	duration    time.Duration
	settle      time.Duration
	deadline    time.Duration
	label       string
	symbol      string
	cpuprofile  string
}

// session is one line of the -sessions file.
type session struct {
	User   string `json:"user"`
	Signed string `json:"signed"`

	auth json.RawMessage // the CONNECT payload {sessionID, userId}, encoded once
}

func main() {
	var o options
	var transport string
	flag.StringVar(&o.url, "url", "http://127.0.0.1:3000", "server base URL")
	flag.IntVar(&o.pid, "pid", 0, "server process id, for RSS and CPU (0: not measured)")
	flag.StringVar(&o.scenario, "scenario", "connect", "connect | idle | fanout | echo")
	flag.StringVar(&transport, "transport", "websocket", "websocket | polling")
	flag.IntVar(&o.n, "n", 1000, "clients")
	flag.IntVar(&o.concurrency, "concurrency", 100, "connects in flight")
	flag.StringVar(&o.sessions, "sessions", "", "JSON-lines file of {user, signed} sessions (client i uses line i mod count)")
	flag.StringVar(&o.emitToken, "emit-token", "", "EMIT_TOKEN of the server (fanout)")
	flag.Float64Var(&o.rate, "rate", 0, "fanout: publishes per second (0: as fast as delivered, -window in flight)")
	flag.IntVar(&o.window, "window", 4, "fanout with -rate 0: publishes in flight")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "fanout/echo: measuring time")
	flag.DurationVar(&o.settle, "settle", 3*time.Second, "idle: wait before reading RSS")
	flag.DurationVar(&o.deadline, "deadline", 3*time.Minute, "hard deadline of the whole run")
	flag.StringVar(&o.label, "label", "", "free text copied to the result (e.g. server name)")
	flag.StringVar(&o.symbol, "symbol", "BENCH", "fanout: watchlist symbol")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write the load generator's CPU profile here (fanout: of its measuring window)")
	flag.Parse()
	o.transport = sioclient.Transport(transport)

	res := result{Scenario: o.scenario, Transport: transport, Label: o.label, N: o.n}
	timer := time.AfterFunc(o.deadline, func() {
		res.Error = fmt.Sprintf("hard deadline %v reached", o.deadline)
		emit(&res)
		os.Exit(3)
	})
	ctx, cancel := context.WithTimeout(context.Background(), o.deadline-time.Second)
	err := run(ctx, o, &res)
	cancel()
	timer.Stop()
	if err != nil {
		res.Error = err.Error()
	}
	emit(&res)
	if err != nil {
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, res *result) error {
	if o.transport != sioclient.WebSocket && o.transport != sioclient.Polling {
		return fmt.Errorf("-transport %q: want websocket or polling", o.transport)
	}
	if o.n < 1 {
		return errors.New("-n must be at least 1")
	}
	sessions, err := readSessions(o.sessions)
	if err != nil {
		return err
	}
	g := &generator{o: o, sessions: sessions}
	defer g.closeAll()
	start := time.Now()
	cpu0 := selfCPU()
	if o.scenario != "fanout" { // fanout profiles its measuring window only
		stop, err := startProfile(o.cpuprofile)
		if err != nil {
			return err
		}
		defer stop()
	}
	switch o.scenario {
	case "connect":
		err = g.connectScenario(ctx, res)
	case "idle":
		err = g.idleScenario(ctx, res)
	case "fanout":
		err = g.fanoutScenario(ctx, res)
	case "echo":
		err = g.echoScenario(ctx, res)
	default:
		err = fmt.Errorf("-scenario %q: want connect, idle, fanout or echo", o.scenario)
	}
	res.WallS = round3(time.Since(start).Seconds())
	res.LoadgenCPUS = round3((selfCPU() - cpu0).Seconds())
	return err
}

func readSessions(path string) ([]session, error) {
	if path == "" {
		return nil, errors.New("-sessions is required (see scripts/bench/sessions.js)")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []session
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var s session
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil || s.User == "" || s.Signed == "" {
			return nil, fmt.Errorf("%s: bad line %q", path, sc.Text())
		}
		s.auth = mustJSON(map[string]string{"sessionID": s.Signed, "userId": s.User})
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no sessions", path)
	}
	return out, sc.Err()
}

// selfCPU is this process's user+system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func emit(res *result) {
	res.GoMaxProcs = runtime.GOMAXPROCS(0)
	b, _ := json.Marshal(res)
	fmt.Println(string(b))
}

func round3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }
