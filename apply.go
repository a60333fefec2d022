package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"reassign/job"
	"reassign/job/planfile"
	"reassign/job/suggest"
	"reassign/report"
)

// apply runs the plan (or verifies it) in phases: prepare (the plan, the outputs, the
// workspace read and the plan resolved against it), confirm (the question, when a
// person watches), execute (send and record), finish (close the record, the exit code).
// A rollback would be a phase between execute and finish, recording into the same files.
func apply(ctx context.Context, s *session) (int, error) {
	p, err := prepare(ctx, s)
	defer p.cleanup()
	if err != nil {
		return 0, err
	}
	r := newRunner(s, p)
	if err := r.Confirm(p.plan.Each, s.ask); err != nil {
		return 0, logPlanError(s.log, err)
	}
	sum, err := execute(ctx, s, r, p)
	return finish(s, p, sum, err)
}

// prepared is what a run holds ready before its first write.
type prepared struct {
	plan     *planfile.Plan
	rec      *report.Recorder
	done     func(job.Row) bool // rows the reports --resume names applied; nil without
	snapshot *job.Snapshot      // the workspace before the run; nil without the reads
	near     *suggest.IDs       // the workspace's ids the plan does not name; nil without
	cleanup  func()             // removes what reading the plan left (a spooled stdin)
}

// prepare reads what the run needs before its first write: the reports it resumes, the
// plan; then it creates the outputs, reads the workspace and resolves the plan against
// it. It returns what it got to, for its cleanup, with its error.
func prepare(ctx context.Context, s *session) (*prepared, error) {
	p := &prepared{cleanup: func() {}}
	var err error
	if p.done, err = resumed(s); err != nil {
		return p, err
	}
	s.log.Info().Str("event", "start").Str("version", buildVersion()).EmbedObject(s.cfg).
		Str("base_url", s.conn.baseURL).Str("key_source", s.conn.keySource).Msg("reassign starting")
	if err := readPlan(ctx, s, p); err != nil {
		return p, err
	}
	if err := s.outs.Create(); err != nil {
		return p, err
	}
	if p.rec, err = report.NewRecorder(s.outs.Get("--report"), s.outs.Get("--undo-plan"), s.cfg.nullToken, s.log, s.sink); err != nil {
		return p, configErrorf("write report %s: %w", s.cfg.reportName(), err)
	}
	if s.cfg.snapshotWanted() {
		if err := readWorkspace(ctx, s, p); err != nil {
			return p, err
		}
	}
	return p, admit(s, p.plan)
}

// resumed reads the reports --resume named as the command started: what they record as
// applied is skipped. Nil without --resume.
func resumed(s *session) (func(job.Row) bool, error) {
	if s.cfg.resume == "" {
		return nil, nil
	}
	applied, err := report.ReadResume(s.resume, s.cfg.nullToken)
	if err != nil {
		return nil, err
	}
	s.log.Info().Str("event", "resume").Str("from", s.cfg.resume).Int("reports", len(s.resume)).Int("applied", applied.Len()).Msg("rows an earlier run applied will be skipped")
	return applied.Has, nil
}

// readPlan reads and validates the plan, and refuses one the settings cannot run.
func readPlan(ctx context.Context, s *session, p *prepared) error {
	open, cleanup, err := planfile.Source(ctx, s.cfg.plan, s.stdin)
	if err != nil {
		return err
	}
	p.cleanup = cleanup
	if p.plan, err = planfile.Read(ctx, open, s.cfg.planOptions()); err != nil {
		return logPlanError(s.log, err)
	}
	if p.plan.Reviewed && s.cfg.noSnapshot {
		return usageError{errors.New("the plan's before_* columns are checked against the workspace: it cannot go with --no-snapshot")}
	}
	return s.cfg.checkPlan(p.plan.Needs(), s.log)
}

// readWorkspace reads the numbers and agents before the first write and resolves the
// plan against them. A signal during the reads leaves every row to be not_attempted.
func readWorkspace(ctx context.Context, s *session, p *prepared) error {
	plan := p.plan
	keep, near := plan.MayContain, (*suggest.IDs)(nil)
	if plan.PhoneKeys() == nil {
		// Keyed by id: the ids the snapshot does not keep are those a mistyped id of the
		// plan may have been meant to be.
		near = new(suggest.IDs)
		keep = func(id string) bool {
			k := plan.MayContain(id)
			if !k {
				near.Add(id)
			}
			return k
		}
	}
	ws, err := job.ReadWorkspace(ctx, s.conn.client, &s.conn.retrier, job.WorkspaceReads{
		Keep: keep, PhoneKey: plan.PhoneKeys(), Parallel: s.cfg.workers, Expect: plan.Rows,
		NeededBy: cmp.Or(s.cfg.snapshotNeeder(plan.Reviewed), plan.Needs()),
	})
	switch {
	case err != nil && ctx.Err() != nil:
		// Interrupted while reading: the run records every row not_attempted.
		plan.ReadsInterrupted()
	case err != nil:
		return err
	default:
		if err := plan.Resolve(ctx, ws); err != nil {
			return logPlanError(s.log, err)
		}
	}
	if ws != nil {
		p.snapshot = ws.Snapshot
	}
	if err == nil && p.snapshot != nil {
		p.near = near // the whole listing was read
	}
	plan.DropIndex() // MayContain has served: its memory goes back before the run
	return nil
}

// admit logs the plan as read, each invalid row, and refuses a plan with invalid rows
// unless --skip-invalid (or verify, which reports them).
func admit(s *session, plan *planfile.Plan) error {
	s.log.Info().Str("event", "plan").Int("rows", plan.Rows).Int("invalid", plan.Invalid).
		Strs("ignored_columns", plan.Ignored).Bool("reviewed", plan.Reviewed).Msg("plan read")
	for _, p := range plan.Problems {
		s.log.Error().Str("event", "invalid_row").Int("line", p.Line).Msg(p.String())
	}
	if plan.Invalid > 0 && !s.cfg.skipInvalid && !s.cfg.verify {
		return &planfile.Error{Problems: []job.Problem{{Reason: fmt.Sprintf("%d of %d rows are invalid; nothing was sent (fix them, or pass --skip-invalid to run the others)", plan.Invalid, plan.Rows)}}}
	}
	return nil
}

// newRunner is the run's runner, built in this one place: the settings, the
// connection, what prepare holds ready, and where results and progress go.
func newRunner(s *session, p *prepared) *job.Runner {
	cfg := s.cfg
	r := &job.Runner{
		Retrier: s.conn.retrier, Client: s.conn.client, Workers: cfg.workers, MaxErrors: cfg.maxErrors,
		DryRun: cfg.dryRun != dryRunNone, Shards: cfg.shards, ShardIndex: cfg.shardIndex, Limit: int(cfg.limit),
		Done: p.done, Snapshot: p.snapshot,
		Drain: 20 * time.Second, Flush: p.rec.Flush, FlushEvery: 50 * time.Millisecond,
	}
	if p.rec.Undoing() {
		r.WriteAhead = p.rec.WriteAhead
	}
	total := p.plan.Rows
	if cfg.shards > 1 {
		total = -1 // unknown until the shard's rows are counted
	}
	r.Progress, r.ProgressEvery = report.Progress(s.log, s.bar, total)
	return r
}

// execute sends the rows (or verifies them), recording each as it finishes. From here
// the run's files are kept, whatever happens next.
func execute(ctx context.Context, s *session, r *job.Runner, p *prepared) (job.Summary, error) {
	s.sink.Hold(true) // log lines go out with the report's
	run := r.Run
	if s.cfg.verify {
		run = r.Verify
	}
	sum, err := run(ctx, p.plan.Each, p.record(s.log))
	s.outs.Keep()
	s.sink.Hold(false)
	s.bar.Clear()
	return sum, err
}

// record records a result in the run's files; a row whose number the workspace lacks
// first gets, in its error, the id it was probably meant to be, if one is clearly near.
func (p *prepared) record(log zerolog.Logger) func(job.Result) error {
	if p.near == nil {
		return p.rec.Record
	}
	return func(res job.Result) error {
		if res.Outcome == job.NotFound {
			if id := p.near.Near(res.Row.ID); id != "" {
				res.Error += "; did you mean " + id + "?"
				log.Info().Str("event", "did_you_mean").Int("line", res.Row.Line).Str("id", res.Row.ID).Str("near", id).
					Msgf("line %d: %s is not in the workspace; did you mean %s?", res.Row.Line, res.Row.ID, id)
			}
		}
		return p.rec.Record(res)
	}
}

// finish closes the run's record (a file that could not be written stops the run, as a
// record that failed would) and turns the summary into the exit code.
func finish(s *session, p *prepared, sum job.Summary, runErr error) (int, error) {
	if err := errors.Join(p.rec.Close(), s.outs.Close()); err != nil && sum.Stopped == nil {
		sum.Stopped = err
	}
	s.end.Ran(sum)
	if runErr != nil {
		return 0, logPlanError(s.log, runErr)
	}
	code := exitCodeOf(sum)
	report.LogSummary(s.log, sum, s.cfg.reportName(), code, s.cfg.sandbox)
	return code, nil
}

// logPlanError logs each problem of a plan that cannot be run, one event a line, and
// returns what ends the run.
func logPlanError(log zerolog.Logger, err error) error {
	var pe *planfile.Error
	if !errors.As(err, &pe) || len(pe.Problems) == 0 {
		return err
	}
	for _, p := range pe.Problems {
		log.Error().Str("event", "invalid_plan").Int("line", p.Line).Msg(p.String())
	}
	return &planfile.Error{Problems: []job.Problem{{Reason: "the plan cannot be read; nothing was sent"}}, Err: pe.Err}
}
