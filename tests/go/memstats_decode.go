// Fetches /debug/vars and decodes its "memstats" into runtime.MemStats the way
// Metricbeat's golang module does, but strictly: unknown fields are an error, every
// field of runtime.MemStats must be present, and the arrays must have Go's lengths.
//
// Usage: go run memstats_decode.go [-counting] URL
// Standard library only: the test machines cannot download Go modules.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"runtime"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "memstats_decode: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	counting := flag.Bool("counting", false, "the server counts allocations (CountingAlloc)")
	flag.Parse()
	if flag.NArg() != 1 {
		fail("usage: memstats_decode [-counting] URL")
	}
	response, err := http.Get(flag.Arg(0))
	if err != nil {
		fail("GET: %v", err)
	}
	defer response.Body.Close()
	if response.StatusCode != http.StatusOK {
		fail("GET: status %s", response.Status)
	}
	body, err := io.ReadAll(response.Body)
	if err != nil {
		fail("read: %v", err)
	}

	var document map[string]json.RawMessage
	if err := json.Unmarshal(body, &document); err != nil {
		fail("document is not a JSON object: %v", err)
	}
	raw, ok := document["memstats"]
	if !ok {
		fail("no memstats in the document")
	}

	var stats runtime.MemStats
	decoder := json.NewDecoder(bytes.NewReader(raw))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(&stats); err != nil {
		fail("decode into runtime.MemStats: %v", err)
	}

	// encoding/json silently accepts missing fields and arrays of the wrong length.
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		fail("memstats is not an object: %v", err)
	}
	memStatsType := reflect.TypeOf(stats)
	for i := 0; i < memStatsType.NumField(); i++ {
		name := memStatsType.Field(i).Name
		if _, ok := fields[name]; !ok {
			fail("missing field %s", name)
		}
	}
	if len(fields) != memStatsType.NumField() {
		fail("%d fields, runtime.MemStats has %d", len(fields), memStatsType.NumField())
	}
	for name, want := range map[string]int{"PauseNs": 256, "PauseEnd": 256, "BySize": 61} {
		var elements []json.RawMessage
		if err := json.Unmarshal(fields[name], &elements); err != nil {
			fail("%s is not an array: %v", name, err)
		}
		if len(elements) != want {
			fail("%s has %d elements, want %d", name, len(elements), want)
		}
	}

	if stats.EnableGC || stats.NumGC != 0 {
		fail("GC fields must be zero: EnableGC=%v NumGC=%d", stats.EnableGC, stats.NumGC)
	}
	if stats.BySize[1].Size != 8 || stats.BySize[60].Size != 18432 {
		fail("BySize sizes are not Go's: %d, %d", stats.BySize[1].Size, stats.BySize[60].Size)
	}
	if runtime.GOOS == "linux" && (stats.Sys == 0 || stats.HeapSys == 0) {
		fail("Sys and HeapSys must come from the OS: %d, %d", stats.Sys, stats.HeapSys)
	}
	if *counting {
		if stats.Mallocs == 0 || stats.Frees > stats.Mallocs {
			fail("allocation counts: Mallocs=%d Frees=%d", stats.Mallocs, stats.Frees)
		}
		if stats.TotalAlloc < stats.Alloc || stats.HeapObjects == 0 {
			fail("allocation totals: TotalAlloc=%d Alloc=%d HeapObjects=%d",
				stats.TotalAlloc, stats.Alloc, stats.HeapObjects)
		}
	}
	fmt.Printf("ok: Alloc=%d TotalAlloc=%d Sys=%d Mallocs=%d Frees=%d HeapObjects=%d\n",
		stats.Alloc, stats.TotalAlloc, stats.Sys, stats.Mallocs, stats.Frees, stats.HeapObjects)
}
