package main

// result is the one JSON line a run prints. Fields a scenario does not
// measure are left out.
type result struct {
	Scenario  string `json:"scenario"`
	Transport string `json:"transport"`
	Label     string `json:"label,omitempty"`
	N         int    `json:"n"`
	Error     string `json:"error,omitempty"`

	// connect phase (every scenario connects its clients)
	Connected      int      `json:"connected"`
	ConnectFailed  int      `json:"connect_failures"`
	ConnectErrors  []string `json:"connect_errors,omitempty"` // the first few
	ConnectsPerSec float64  `json:"connects_per_s"`
	ConnectLatency *summary `json:"connect_latency,omitempty"`

	// idle
	RSSBeforeBytes   int64   `json:"rss_before_bytes,omitempty"`
	RSSAfterBytes    int64   `json:"rss_after_bytes,omitempty"`
	RSSPerClientKiB  float64 `json:"rss_per_client_kib,omitempty"`
	ServerCPUPerConn float64 `json:"server_cpu_per_connect_us,omitempty"`

	// fanout
	Published        int64    `json:"published,omitempty"`
	PublishRate      float64  `json:"publish_per_s,omitempty"`
	Expected         int64    `json:"expected,omitempty"`
	Delivered        int64    `json:"delivered,omitempty"`
	Lost             int64    `json:"lost,omitempty"`
	DeliveriesPerSec float64  `json:"deliveries_per_s,omitempty"`
	Latency          *summary `json:"latency,omitempty"`
	ServerCPUS       float64  `json:"server_cpu_s,omitempty"`
	ServerCPUPerMsg  float64  `json:"server_cpu_per_delivery_us,omitempty"`
	LoadgenCPUPerMsg float64  `json:"loadgen_cpu_per_delivery_us,omitempty"`
	Disconnected     int64    `json:"disconnected,omitempty"`
	// fanout at a fixed rate: one publish's burst, medians over the
	// publishes whose burst was complete before the next publish
	Burst *burst `json:"burst,omitempty"`

	// echo
	Acks       int64   `json:"acks,omitempty"`
	AcksPerSec float64 `json:"acks_per_s,omitempty"`
	AckErrors  int64   `json:"ack_errors,omitempty"`

	WallS       float64 `json:"wall_s"`
	LoadgenCPUS float64 `json:"loadgen_cpu_s"`
	GoMaxProcs  int     `json:"loadgen_gomaxprocs"`
}

// burst is what one publish costs at a fixed rate, from the publish to its
// last delivery: wall time, and the CPU time the server and the load
// generator used meanwhile (nanosecond clocks from /proc/<pid>/task/*/schedstat).
type burst struct {
	Count          int     `json:"count"`
	WallMs         float64 `json:"wall_ms"`
	ServerCPUMs    float64 `json:"server_cpu_ms"`
	LoadgenCPUMs   float64 `json:"loadgen_cpu_ms"`
	ServerCPUPerUs float64 `json:"server_cpu_per_delivery_us"`
	LoadgenPerUs   float64 `json:"loadgen_cpu_per_delivery_us"`
}
