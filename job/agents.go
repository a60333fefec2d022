package job

import (
	"context"

	"reassign/job/dialnexa"
)

// ListAgents reads the workspace's agents (one GET /agents, on rt's limiter and retry
// policy, as every read), for `reassign agents`.
func ListAgents(ctx context.Context, rd Reader, rt *Retrier) ([]dialnexa.Agent, error) {
	return readAgents(ctx, rd, rt)
}
