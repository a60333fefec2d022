package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/rs/zerolog"

	"reassign/job"
	"reassign/job/planfile"
	"reassign/job/suggest"
	"reassign/report"
)

// apply runs the plan (or verifies it) in phases: prepare (the plan, the outputs, the
// workspace read and the plan resolved against it), confirm (the question, when a
// person watches), execute (send and record: the runner checks its waves and, in an
// atomic run, rolls back, recording into the same files), finish (close the record, the
// exit code, what is left to do after a rollback).
func apply(ctx context.Context, s *session) (int, error) {
	p, err := prepare(ctx, s)
	defer p.cleanup()
	if err != nil {
		return 0, err
	}
	r := newRunner(s, p)
	if ctx, err = confirm(ctx, s, r, p); err != nil {
		return 0, err
	}
	sum, err := execute(ctx, s, r, p)
	return finish(s, p, sum, err)
}

// confirm puts the question before the first write, when a person watches: what the run
// is about to do, in which workspace, with which undo plan. A no (or a signal at the
// question) sends nothing and records the rows quietly, one line at the end instead of
// one a row; the context it returns then outlives the signal, so that the report is
// still written whole.
func confirm(ctx context.Context, s *session, r *job.Runner, p *prepared) (context.Context, error) {
	if s.ask == nil {
		return ctx, nil
	}
	ask := func(about string) bool { return s.ask(about + "\n" + s.cfg.target(s.conn.baseURL)) }
	if err := r.Confirm(p.rows, ask); err != nil {
		return ctx, logPlanError(s.log, err)
	}
	if r.Declined {
		s.end.Declined = true
		r.Log = zerolog.Nop()
		ctx = context.WithoutCancel(ctx)
	}
	return ctx, nil
}

// prepared is what a run holds ready before its first write.
type prepared struct {
	plan     *planfile.Plan
	keys     *planfile.Keys // the plan's key hashes, for the workspace reads only
	rows     job.Each       // the plan's rows as the run takes them: resolved to ids
	problems []job.Problem  // every invalid row's reasons: the reader's and the resolver's
	invalid  int            // rows with a problem
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
	var ws *job.Workspace
	if s.cfg.snapshotWanted() {
		if ws, err = readWorkspace(ctx, s, p); err != nil {
			return p, err
		}
	}
	if err := resolve(ctx, s, p, ws); err != nil {
		return p, err
	}
	return p, admit(s, p)
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
	if p.plan, p.keys, err = planfile.Read(ctx, open, s.cfg.planOptions()); err != nil {
		return logPlanError(s.log, err)
	}
	if ignored := p.plan.Ignored; len(ignored) > 0 {
		s.end.IgnoredColumns = ignored
		s.log.Warn().Str("event", "ignored_columns").Strs("columns", ignored).
			Msgf("%s of the plan not read: %s", plural(len(ignored), "a column", "columns"), job.ColumnList(ignored))
	}
	if p.plan.Reviewed && s.cfg.noSnapshot {
		return usageError{errors.New("the plan's before_* columns are checked against the workspace: it cannot go with --no-snapshot")}
	}
	return s.cfg.checkPlan(p.plan.Needs(), s.log)
}

// readWorkspace reads the numbers and agents before the first write. Reads cut short
// by a signal leave no workspace: the run then records every row not_attempted.
func readWorkspace(ctx context.Context, s *session, p *prepared) (*job.Workspace, error) {
	plan, keys := p.plan, p.keys
	p.keys = nil // the key hashes serve the reads only: their memory goes back before the run
	keep, near := keys.Keep, (*suggest.IDs)(nil)
	if !keys.ByPhone() {
		// Keyed by id: the ids the snapshot does not keep are those a mistyped id of the
		// plan may have been meant to be.
		near = new(suggest.IDs)
		keep = func(id, phone string) bool {
			k := keys.Keep(id, phone)
			if !k {
				near.Add(id)
			}
			return k
		}
	}
	ws, err := job.ReadWorkspace(ctx, s.conn.client, &s.conn.retrier, job.WorkspaceReads{
		Keep: keep, PhoneKey: keys.PhoneKey(), NoPhoneIndex: !keys.ByPhone(), EndsIn: keys.EndsIn,
		Parallel: s.cfg.workers, Expect: plan.Rows,
		NeededBy: cmp.Or(s.cfg.snapshotNeeder(plan.Reviewed), plan.Needs()),
	})
	if err != nil && ctx.Err() == nil {
		return nil, err
	}
	if ws != nil {
		p.snapshot = ws.Snapshot
		if s.cfg.html != "" {
			s.end.Agents = make(map[string]string, len(ws.Agents))
			for _, a := range ws.Agents {
				s.end.Agents[a.ID] = a.Name
			}
		}
	}
	if err == nil && p.snapshot != nil {
		p.near = near // the whole listing was read
	}
	return ws, nil
}

// resolve makes the rows the run takes: the plan's, with phone numbers and agent names
// resolved to ids against ws (nil when the workspace was not read: rows pass as
// written), and every row's problems collated.
func resolve(ctx context.Context, s *session, p *prepared, ws *job.Workspace) error {
	resolver := job.NewResolver(ws)
	if pairs := p.plan.Pairs(); len(pairs) > 0 {
		agents, numbers := resolver.Checks()
		var unchecked []string
		for _, pair := range pairs {
			if pair == "agent_id and agent" && !agents || pair == "id and phone_number" && !numbers {
				unchecked = append(unchecked, pair)
			}
		}
		if len(unchecked) > 0 {
			s.log.Warn().Str("event", "unchecked").Strs("pairs", unchecked).
				Msgf("the plan's %s are not checked against each other: the workspace was not read (they are on a run that reads it)", strings.Join(unchecked, ", and its "))
		}
	}
	found, err := resolver.Check(ctx, p.plan.Each, p.plan.AgentRows())
	if err != nil {
		return logPlanError(s.log, err)
	}
	p.problems, p.invalid = job.Collate(p.plan.Problems, found)
	p.rows = resolver.Each(p.plan.Each)
	return nil
}

// admit logs the plan as read, each invalid row (then the reasons many rows share, and
// whether the key is for the right workspace when most rows name what it lacks), and
// refuses a plan with invalid rows unless --skip-invalid (or verify, which reports
// them). A refused plan's report still lists every row, the invalid ones with their
// reasons, so that the sheet can be fixed where it is.
func admit(s *session, p *prepared) error {
	plan := p.plan
	s.log.Info().Str("event", "plan").Int("rows", plan.Rows).Int("invalid", p.invalid).
		Strs("ignored_columns", plan.Ignored).Strs("known_columns", plan.Known).Bool("reviewed", plan.Reviewed).
		Str("sheet", plan.Sheet).Msg("plan read")
	for _, pr := range p.problems {
		s.log.Error().Str("event", "invalid_row").Int("line", pr.Line).Msg(pr.String())
	}
	for _, g := range job.Group(p.problems, groupRows, maxGroups) {
		s.log.Error().Str("event", "invalid_rows").Int("rows", g.Rows).Msgf("%s rows: %s", humanize.Comma(int64(g.Rows)), g.Reason)
	}
	elsewhere := ""
	if missing := job.MissingRows(p.problems); plan.Rows >= 3 && 2*missing > plan.Rows {
		elsewhere = fmt.Sprintf("%s of %s rows name agents or numbers this workspace does not have: is the key for the right workspace (%s)?",
			humanize.Comma(int64(missing)), humanize.Comma(int64(plan.Rows)), s.workspaceName())
		s.log.Error().Str("event", "workspace").Int("rows", missing).Msg(elsewhere)
	}
	if p.invalid == 0 || s.cfg.skipInvalid || s.cfg.verify {
		return nil
	}
	msg := fmt.Sprintf("%d of %d rows are invalid; nothing was sent (fix them, or pass --skip-invalid to run the others)", p.invalid, plan.Rows)
	if err := refuseRows(s, p); err != nil {
		msg += "; " + err.Error()
	} else if s.cfg.reportName() != "-" {
		msg += fmt.Sprintf("; every row is in the report %s, the invalid ones with why", s.cfg.reportName())
	}
	if elsewhere != "" {
		msg += ". " + elsewhere
	}
	return &planfile.Error{Problems: []job.Problem{{Reason: msg}}}
}

// What the end of a list of problems groups: a reason at least groupRows rows share, at
// most maxGroups of them.
const (
	groupRows = 5
	maxGroups = 10
)

// refuseRows records every row of a plan refused for its rows in the report (invalid,
// or not_attempted because of the others) and keeps that file alone.
func refuseRows(s *session, p *prepared) error {
	r := newRunner(s, p)
	err := r.Refuse(p.rows, p.rec.Record)
	if err = errors.Join(err, p.rec.Close(), s.outs.Close()); err != nil {
		return fmt.Errorf("the report %s could not be written: %w", s.cfg.reportName(), err)
	}
	s.outs.KeepOnly("--report")
	return nil
}

// workspaceName names the workspace the run reads, for a person: its URL, or the
// sandbox.
func (s *session) workspaceName() string {
	if s.cfg.sandbox {
		return "the sandbox"
	}
	return s.conn.baseURL
}

// plural is one or many, by n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// newRunner is the run's runner, built in this one place: the settings, the
// connection, what prepare holds ready, and where results and progress go.
func newRunner(s *session, p *prepared) *job.Runner {
	cfg := s.cfg
	r := &job.Runner{
		Retrier: s.conn.retrier, Now: time.Now, Client: s.conn.client, Workers: cfg.workers, MaxErrors: cfg.maxErrors.Allowance,
		Waves: cfg.waves.Waves, Atomic: cfg.atomic, Reader: s.conn.client,
		DryRun: cfg.dryRun != dryRunNone, Shards: cfg.shards, ShardIndex: cfg.shardIndex, Limit: int(cfg.limit),
		Done: p.done, Snapshot: p.snapshot, Ignored: p.plan.Ignored,
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
	sum, err := run(ctx, p.rows, p.record(s))
	s.outs.Keep()
	s.sink.Hold(false)
	s.bar.Clear()
	return sum, err
}

// record records a result in the run's files, and counts it for the end (what the rows
// changed, the timeline when they finished); a row whose number the workspace lacks
// first gets, in its error, the id it was probably meant to be, if one is clearly near.
func (p *prepared) record(s *session) func(job.Result) error {
	return func(res job.Result) error {
		if res.Outcome == job.NotFound && p.near != nil {
			if id := p.near.Near(res.Row.ID); id != "" {
				res.Error += "; did you mean " + id + "?"
				s.log.Info().Str("event", "did_you_mean").Int("line", res.Row.Line).Str("id", res.Row.ID).Str("near", id).
					Msgf("line %d: %s is not in the workspace; did you mean %s?", res.Row.Line, res.Row.ID, id)
			}
		}
		s.end.Timeline.Row(res.Finished)
		s.end.Changes.Add(res)
		return p.rec.Record(res)
	}
}

// finish closes the run's record (a file that could not be written stops the run, as a
// record that failed would) and turns the summary into the exit code. The end in words
// comes last of all (session.conclude).
func finish(s *session, p *prepared, sum job.Summary, runErr error) (int, error) {
	if err := errors.Join(p.rec.Close(), s.outs.Close()); err != nil {
		sum.StopWith(job.StopOutputFailed, err)
	}
	s.end.Ran(sum)
	if runErr != nil {
		return 0, logPlanError(s.log, runErr)
	}
	code := exitCodeOf(sum)
	logRollback(s, sum)
	return code, nil
}

// logRollback says how an atomic run's rollback ended, naming the undo plan and, when
// some numbers could not be put back, the command that finishes the job.
func logRollback(s *session, sum job.Summary) {
	undo := s.cfg.undoPlanName()
	switch sum.Rollback {
	case job.RollbackComplete:
		s.log.Warn().Str("event", "rolled_back").Str("undo_plan", undo).
			Msg("the atomic run put back every number it changed; nothing of the plan is applied")
	case job.RollbackPartial:
		cmd := commandLine("", s.cfg.with(connectionFlags, map[string]string{"plan": undo}))
		s.log.Error().Str("event", "rolled_back").Str("undo_plan", undo).Int("not_back", sum.NotBack).Str("command", cmd).
			Msgf("the atomic run could not put back %d numbers it changed: the workspace is partly changed; "+
				"the undo plan %s finishes the job, changing a number only where nobody has since: %s", sum.NotBack, undo, cmd)
	}
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
