package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// The bare Go loop runs in a child process of the harness (the harness's own binary,
// started with bareEnv set), so that it meets the fake API as the job does: from another
// process, with its own runtime, paying its own start-up.
const (
	bareEnv        = "REASSIGN_BENCH_BARE" // set: run the bare loop and exit
	bareURLEnv     = "REASSIGN_BENCH_BARE_URL"
	barePlanEnv    = "REASSIGN_BENCH_BARE_PLAN"
	bareUAEnv      = "REASSIGN_BENCH_BARE_UA"
	bareWorkersEnv = "REASSIGN_BENCH_BARE_WORKERS"
	barePagesEnv   = "REASSIGN_BENCH_BARE_PAGES" // > 0: first send the job's reads (docs/migrations.md)
)

// bareNumber is what any client reads of a number the API sends: the bare loop decodes
// every answer into it with encoding/json, as a real client must, so that the overhead
// target compares the job with a client that does its job, not one that drops the answers.
type bareNumber struct {
	ID             string `json:"id"`
	PhoneNumber    string `json:"phone_number"`
	AgentID        string `json:"agent_id"`
	InboundAgentID string `json:"inbound_agent_id"`
	Nickname       string `json:"nickname"`
	Label          string `json:"label"`
	Status         string `json:"status"`
	CountryCode    string `json:"country_code"`
	Type           string `json:"type"`
}

// decodeInto reads a whole answer body into v with encoding/json.
func decodeInto(body io.Reader, v any) error {
	data, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

// bareResult is what the bare loop prints on stdout.
type bareResult struct {
	Sent  int `json:"sent"`
	OK    int `json:"ok"`    // PATCHes answered 200
	Reads int `json:"reads"` // GETs answered 200
}

func bareMain(getenv func(string) string, stdout, stderr io.Writer) int {
	workers, err := strconv.Atoi(getenv(bareWorkersEnv))
	if err != nil || workers < 1 {
		fmt.Fprintf(stderr, "bare: $%s: want a positive number\n", bareWorkersEnv)
		return 2
	}
	pages, _ := strconv.Atoi(getenv(barePagesEnv))
	res, err := bareLoop(getenv(bareURLEnv), getenv("DIALNEXA_API_KEY"), getenv(bareUAEnv), getenv(barePlanEnv), workers, pages)
	if err != nil {
		fmt.Fprintf(stderr, "bare: %v\n", err)
		return 1
	}
	json.NewEncoder(stdout).Encode(res)
	return 0
}

// bareLoop sends the plan's PATCHes as the job would (same URL, headers and body) with
// workers goroutines and a keep-alive client, and nothing else: no validation, no retry,
// no limiter, no report, no log; it decodes each answer (bareNumber). With pages > 0 it
// first sends the reads the job sends before its first PATCH, in the same order: the
// agent list beside the first page of numbers, then the other pages, workers at once;
// their answers are decoded too.
func bareLoop(baseURL, key, userAgent, planPath string, workers, pages int) (bareResult, error) {
	f, err := os.Open(planPath)
	if err != nil {
		return bareResult{}, err
	}
	defer f.Close()
	cr := csv.NewReader(bufio.NewReaderSize(f, 64<<10))
	header, err := cr.Read()
	if err != nil {
		return bareResult{}, fmt.Errorf("plan header: %w", err)
	}
	col := map[string]int{}
	for i, name := range header {
		col[name] = i
	}
	if _, ok := col["id"]; !ok {
		return bareResult{}, errors.New("plan has no id column")
	}

	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = workers
	hc := &http.Client{Transport: t, Timeout: 30 * time.Second}
	auth := "Bearer " + key
	type request struct {
		url  string
		body []byte
	}
	var reads atomic.Int64
	get := func(path string, v any) error {
		req, err := http.NewRequest(http.MethodGet, baseURL+path, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", auth)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", userAgent)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if err := decodeInto(resp.Body, v); err != nil {
			return fmt.Errorf("GET %s: %w", path, err)
		}
		if resp.StatusCode == http.StatusOK {
			reads.Add(1)
		}
		return nil
	}
	type numberPage struct {
		Data  []bareNumber `json:"data"`
		Items []bareNumber `json:"items"`
		Total int          `json:"total"`
		Meta  struct {
			Total      int `json:"total"`
			TotalPages int `json:"totalPages"`
		} `json:"meta"`
	}
	type agents struct {
		Agents []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"agents"`
	}
	if pages > 0 {
		var g errgroup.Group
		g.Go(func() error { return get("/agents", &agents{}) })
		g.Go(func() error { return get("/organization-phone-numbers?limit=100&page=1", &numberPage{}) })
		if err := g.Wait(); err != nil {
			return bareResult{}, err
		}
		g.SetLimit(workers)
		for page := 2; page <= pages; page++ {
			g.Go(func() error {
				return get("/organization-phone-numbers?limit=100&page="+strconv.Itoa(page), &numberPage{})
			})
		}
		if err := g.Wait(); err != nil {
			return bareResult{}, err
		}
	}

	reqs := make(chan request, workers)
	var ok, sent atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for r := range reqs {
				sent.Add(1)
				req, err := http.NewRequest(http.MethodPatch, r.url, bytes.NewReader(r.body))
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					continue
				}
				req.Header.Set("Authorization", auth)
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Accept", "application/json")
				req.Header.Set("User-Agent", userAgent)
				resp, err := hc.Do(req)
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					continue
				}
				var n bareNumber
				derr := decodeInto(resp.Body, &n)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK && derr == nil {
					ok.Add(1)
				}
			}
		})
	}
	var readErr error
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			readErr = err
			break
		}
		reqs <- request{
			url:  baseURL + "/organization-phone-numbers/" + url.PathEscape(rec[col["id"]]),
			body: bareBody(rec, col),
		}
	}
	close(reqs)
	wg.Wait()
	res := bareResult{Sent: int(sent.Load()), OK: int(ok.Load()), Reads: int(reads.Load())}
	if readErr != nil {
		return res, readErr
	}
	return res, firstErr
}

// bareBody is the job's body for a row: the set fields in the job's order.
func bareBody(rec []string, col map[string]int) []byte {
	b := []byte{'{'}
	for _, name := range []string{"agent_id", "nickname", "label"} {
		i, ok := col[name]
		if !ok || i >= len(rec) || rec[i] == "" {
			continue
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		s, _ := json.Marshal(rec[i])
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, `":`...)
		b = append(b, s...)
	}
	return append(b, '}')
}
