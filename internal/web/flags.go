package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"sluice.dev/sluice/internal/flags"
	"sluice.dev/sluice/internal/flags/edit"
	"sluice.dev/sluice/pkg/client"
)

// flagRow is one flag of an environment.
type flagRow struct {
	Key, State, Default string
	// Variants are the flag's variants as name=JSON, sorted.
	Variants []variantView
	// Rollout describes a percentage rollout ("on: 25 %"); Rule says the
	// flag has another targeting rule.
	Rollout string
	Rule    bool
	// RolloutVariant and RolloutBasisPoints are the rollout's, for the form.
	RolloutVariant     string
	RolloutBasisPoints int
	// Targeting is the rule as indented JSON; "" when none.
	Targeting string
}

// Enabled reports whether the flag is on.
func (f flagRow) Enabled() bool { return f.State == string(flags.StateEnabled) }

// RolloutPercent is the rollout's share as a form value ("25", "0.5").
func (f flagRow) RolloutPercent() string {
	return strings.TrimSuffix(edit.FormatPercent(f.RolloutBasisPoints), "%")
}

// variantView is one variant of a flag.
type variantView struct {
	Name, Value string
}

// flagRows reads every flag of a FlagSet's spec.
func flagRows(specJSON json.RawMessage) ([]flagRow, error) {
	doc, err := edit.Parse(specJSON)
	if err != nil {
		return nil, err
	}
	var rows []flagRow
	for _, key := range doc.Keys() {
		f, _ := doc.Flag(key)
		row := flagRow{Key: key}
		row.State, _ = f["state"].(string)
		row.Default, _ = f["defaultVariant"].(string)
		if vs, ok := f["variants"].(map[string]any); ok {
			for _, name := range slices.Sorted(maps.Keys(vs)) {
				b, _ := json.Marshal(vs[name])
				row.Variants = append(row.Variants, variantView{Name: name, Value: string(b)})
			}
		}
		if t, ok := f["targeting"]; ok && t != nil {
			b, _ := json.Marshal(t)
			row.Targeting = prettyJSON(json.RawMessage(b))
			if m, isMap := t.(map[string]any); !isMap || len(m) > 0 {
				row.Rule = true
			}
		}
		if v, bp, ok := doc.RolloutOf(key); ok {
			row.Rollout = fmt.Sprintf("%s to %s", v, formatBasisPoints(bp))
			row.RolloutVariant, row.RolloutBasisPoints, row.Rule = v, bp, false
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// flagSetRow is one environment on the flags page.
type flagSetRow struct {
	Env     string
	Flags   int
	Enabled int
	Updated string
	Version int64
}

// flagSets lists the environments' FlagSets.
func (d *Dashboard) flagSets(w http.ResponseWriter, r *http.Request, s *session) {
	sets, err := s.api.List(r.Context(), client.FlagSets)
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	var rows []flagSetRow
	for _, o := range sets {
		row := flagSetRow{Env: o.Metadata.Name, Version: o.Metadata.ResourceVersion, Updated: formatAgo(d.opts.Now(), o.Metadata.UpdatedAt)}
		if fs, err := flagRows(o.Spec); err == nil {
			row.Flags = len(fs)
			for _, f := range fs {
				if f.Enabled() {
					row.Enabled++
				}
			}
		}
		rows = append(rows, row)
	}
	d.render(w, http.StatusOK, "flagsets", view{Title: "Flags", Nav: "flags", S: s, Data: rows})
}

// flagSetData is an environment's page.
type flagSetData struct {
	Env   string
	Flags []flagRow
}

// flagSet lists one environment's flags with their kill switches.
func (d *Dashboard) flagSet(w http.ResponseWriter, r *http.Request, s *session) {
	env := r.PathValue("env")
	o, err := s.api.Get(r.Context(), client.FlagSets, env)
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	rows, err := flagRows(o.Spec)
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	d.render(w, http.StatusOK, "flagset", view{Title: "Flags in " + env, Nav: "flags", S: s, Notice: flagNotice(r),
		Data: flagSetData{Env: env, Flags: rows}})
}

// flagData is one flag's page.
type flagData struct {
	Env  string
	Flag flagRow
	// Draft is the targeting text to show: what was sent when it was
	// refused, else the flag's rule.
	Draft string
	// Changes are the flag's changes, newest first.
	Changes []flagChange
}

// flagChange is one version of the FlagSet that changed the flag.
type flagChange struct {
	Version int64
	Actor   string
	When    string
	Changes []edit.Change
}

// flagPage shows one flag: variants, state, rollout, targeting and history.
func (d *Dashboard) flagPage(w http.ResponseWriter, r *http.Request, s *session) {
	d.renderFlag(w, r, s, http.StatusOK, "", "")
}

// renderFlag renders a flag's page, with a refused draft of its targeting
// and the reason it was refused, if any.
func (d *Dashboard) renderFlag(w http.ResponseWriter, r *http.Request, s *session, status int, draft, problem string) {
	env, key := r.PathValue("env"), r.PathValue("key")
	ctx := r.Context()
	o, err := s.api.Get(ctx, client.FlagSets, env)
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	rows, err := flagRows(o.Spec)
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	i := slices.IndexFunc(rows, func(f flagRow) bool { return f.Key == key })
	if i < 0 {
		d.refuse(w, r, s, http.StatusNotFound, fmt.Sprintf("Environment %s has no flag %q.", env, key))
		return
	}
	data := flagData{Env: env, Flag: rows[i], Draft: rows[i].Targeting}
	if problem != "" {
		data.Draft = draft
	}
	entries, err := s.api.History(ctx, client.FlagSets, env, 50)
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	for j := len(entries) - 1; j >= 0; j-- {
		var prev json.RawMessage
		if j > 0 {
			prev = entries[j-1].Spec
		}
		var changes []edit.Change
		if j > 0 || entries[j].Version == 1 {
			changes = edit.DiffFlag(key, prev, entries[j].Spec)
		}
		if len(changes) > 0 {
			data.Changes = append(data.Changes, flagChange{Version: entries[j].Version, Actor: entries[j].Actor,
				When: formatAgo(d.opts.Now(), entries[j].Time), Changes: changes})
		}
	}
	d.render(w, status, "flag", view{Title: key + " in " + env, Nav: "flags", S: s, Data: data, Error: problem, Notice: flagNotice(r)})
}

// flagState is the kill switch: it enables or disables a flag.
func (d *Dashboard) flagState(w http.ResponseWriter, r *http.Request, s *session) {
	state := flags.State(r.PostFormValue("state"))
	d.changeFlag(w, r, s, "state", func(doc *edit.Document, key string) (bool, error) { return doc.SetState(key, state) })
}

// flagRollout rolls a variant out to a share of users.
func (d *Dashboard) flagRollout(w http.ResponseWriter, r *http.Request, s *session) {
	bp, err := edit.ParsePercent(r.PostFormValue("percent"))
	if err != nil {
		d.renderFlag(w, r, s, http.StatusUnprocessableEntity, "", "Rollout: "+err.Error()+"; nothing was changed.")
		return
	}
	variant, replace := r.PostFormValue("variant"), r.PostFormValue("replace") == "on"
	d.changeFlag(w, r, s, "rollout", func(doc *edit.Document, key string) (bool, error) {
		return doc.Rollout(key, variant, bp, replace)
	})
}

// flagTargeting replaces a flag's targeting rule. The server validates the
// whole FlagSet before it stores it; a refused rule is shown again with the
// reason, and nothing is changed.
func (d *Dashboard) flagTargeting(w http.ResponseWriter, r *http.Request, s *session) {
	rule := r.PostFormValue("targeting")
	d.changeFlagOr(w, r, s, "targeting", rule, func(doc *edit.Document, key string) (bool, error) {
		return doc.SetTargeting(key, []byte(rule))
	})
}

// changeFlag changes one flag through the API and goes back to its page.
func (d *Dashboard) changeFlag(w http.ResponseWriter, r *http.Request, s *session, what string, fn func(*edit.Document, string) (bool, error)) {
	d.changeFlagOr(w, r, s, what, "", fn)
}

// changeFlagOr is changeFlag that shows draft again when the change is
// refused.
func (d *Dashboard) changeFlagOr(w http.ResponseWriter, r *http.Request, s *session, what, draft string, fn func(*edit.Document, string) (bool, error)) {
	env, key := r.PathValue("env"), r.PathValue("key")
	if !s.CanWrite() {
		d.refuse(w, r, s, http.StatusForbidden, fmt.Sprintf("Your role (%s) may look at flags, not change them.", s.Role()))
		return
	}
	_, err := s.api.UpdateFlagSet(r.Context(), env, func(specJSON json.RawMessage) (json.RawMessage, error) {
		doc, err := edit.Parse(specJSON)
		if err != nil {
			return nil, err
		}
		changed, err := fn(doc, key)
		if err != nil {
			return nil, refusedEdit{err}
		}
		if !changed {
			return nil, nil
		}
		return doc.JSON()
	})
	var refused refusedEdit
	p, isProblem := problemOf(err)
	switch {
	case errors.As(err, &refused):
		d.renderFlag(w, r, s, http.StatusUnprocessableEntity, draft, "Not saved: "+refused.Error())
		return
	case isProblem && isInvalid(p):
		d.renderFlag(w, r, s, http.StatusUnprocessableEntity, draft, "Not saved: "+problemText(p))
		return
	case err != nil:
		d.fail(w, r, s, err)
		return
	}
	back := Prefix + "flags/" + env
	if r.PostFormValue("back") == "flag" {
		back += "/flag/" + key
	}
	http.Redirect(w, r, back+"?done="+what+"&flag="+key, http.StatusSeeOther)
}

// refusedEdit is a change the edit package refused (an unknown variant, a
// share over 100 %, a rule that is not JSON): the person's to fix, shown
// with the form; nothing was sent.
type refusedEdit struct{ err error }

func (e refusedEdit) Error() string { return e.err.Error() }
func (e refusedEdit) Unwrap() error { return e.err }

// flagNotice turns ?done=WHAT&flag=KEY into a line of feedback.
func flagNotice(r *http.Request) string {
	q := r.URL.Query()
	switch q.Get("done") {
	case "state":
		return "Saved the state of " + q.Get("flag") + "."
	case "rollout":
		return "Saved the rollout of " + q.Get("flag") + "."
	case "targeting":
		return "Saved the targeting rule of " + q.Get("flag") + "."
	case "revert":
		return "Reverted to version " + q.Get("version") + "."
	}
	return ""
}

// historyEntry is one version of a FlagSet with what it changed.
type historyEntry struct {
	Version int64
	Action  string
	Actor   string
	When    string
	Changes []edit.Change
	// Latest marks the current version: it cannot be reverted to.
	Latest bool
}

// flagHistory lists an environment's versions with their diffs.
func (d *Dashboard) flagHistory(w http.ResponseWriter, r *http.Request, s *session) {
	env := r.PathValue("env")
	entries, err := s.api.History(r.Context(), client.FlagSets, env, 50)
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	var out []historyEntry
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		h := historyEntry{Version: e.Version, Action: e.Action, Actor: e.Actor, When: formatAgo(d.opts.Now(), e.Time), Latest: i == len(entries)-1}
		if i > 0 {
			h.Changes = edit.DiffDocuments(entries[i-1].Spec, e.Spec)
		}
		out = append(out, h)
	}
	d.render(w, http.StatusOK, "flaghistory", view{Title: "History of " + env, Nav: "flags", S: s, Notice: flagNotice(r),
		Data: struct {
			Env     string
			Entries []historyEntry
		}{env, out}})
}

// flagRevert writes an earlier version's spec as the FlagSet's new version.
func (d *Dashboard) flagRevert(w http.ResponseWriter, r *http.Request, s *session) {
	env := r.PathValue("env")
	if !s.CanWrite() {
		d.refuse(w, r, s, http.StatusForbidden, fmt.Sprintf("Your role (%s) may look at flags, not change them.", s.Role()))
		return
	}
	version, err := strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	if err != nil || version < 1 {
		d.refuse(w, r, s, http.StatusBadRequest, "The version to revert to is not a version number; nothing was changed.")
		return
	}
	old, err := s.api.HistoryVersion(r.Context(), client.FlagSets, env, version)
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	if len(old.Spec) == 0 {
		d.refuse(w, r, s, http.StatusConflict, fmt.Sprintf("Version %d deleted the FlagSet; there is nothing to revert to.", version))
		return
	}
	if _, err := s.api.UpdateFlagSet(r.Context(), env, func(json.RawMessage) (json.RawMessage, error) { return old.Spec, nil }); err != nil {
		d.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("%sflags/%s/history?done=revert&version=%d", Prefix, env, version), http.StatusSeeOther)
}
