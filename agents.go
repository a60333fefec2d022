package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"reassign/job"
	"reassign/job/dialnexa"
	"reassign/report"
)

// listAgents is `reassign agents`: the workspace's agents as CSV (id, name, inbound),
// on stdout or in --out, written once the list is read whole: a read that fails leaves
// no file and prints nothing.
func listAgents(ctx context.Context, s *session) error {
	if err := s.outs.Create(); err != nil {
		return err
	}
	cfg := s.cfg
	agents, err := job.ListAgents(ctx, s.conn.client, &s.conn.retrier)
	if err != nil {
		var apiErr *dialnexa.APIError
		if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusUnauthorized {
			err = fmt.Errorf("%w: %v", job.ErrKeyRefused, err)
		}
		return tempError{fmt.Errorf("agents: read the workspace's agents: %w", err)}
	}
	if err := report.WriteAgents(s.outs.Get("--out"), cfg.out != "-", agents, cfg.nullToken); err != nil {
		return configErrorf("agents: write %s: %w", cfg.out, err)
	}
	if err := s.outs.Close(); err != nil {
		return configError{err}
	}
	s.outs.Keep()
	inbound := 0
	for _, a := range agents {
		if a.Inbound == nil || *a.Inbound {
			inbound++
		}
	}
	s.log.Info().Str("event", "summary").Int("agents", len(agents)).Int("outbound_only", len(agents)-inbound).
		Int64("requests", s.conn.retrier.Requests.ByClass()["total"]).Str("out", cfg.out).Int("exit_code", exitOK).Bool("sandbox", cfg.sandbox).
		Msgf("listed %d agents to %s", len(agents), outName(cfg.out))
	return nil
}

// outName names an output in a sentence: "stdout" for -.
func outName(name string) string {
	if name == "-" {
		return "stdout"
	}
	return name
}
