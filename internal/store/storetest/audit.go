package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"sluice.dev/sluice/internal/store"
)

// auditTests are the conformance cases of the audit log.
var auditTests = []struct {
	name string
	fn   func(*testing.T, store.Store)
}{
	{"AuditAppendAndFilter", testAuditFilter},
	{"AuditLimitKeepsNewest", testAuditLimit},
}

func testAuditFilter(t *testing.T, s store.Store) {
	ctx := context.Background()
	base := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	entries := []store.AuditEntry{
		{Actor: "ci", Role: "deployer", Source: "10.0.0.1", Action: "POST /api/v1/apply", Resource: "apply", Status: 200, BodyDigest: "ab12", RequestID: "r1"},
		{Actor: "ci", Role: "deployer", Source: "10.0.0.1", Action: "DELETE /api/v1/{kind}/{name}", Resource: "apps/web", Status: 204},
		{Source: "10.0.0.9", Action: "GET /api/v1/{kind}", Resource: "apps", Status: 401},
		{Actor: "admin", Role: "admin", Action: "GET /api/v1/apps/{name}/revisions", Resource: "apps/web/revisions", Status: 200},
		{Actor: "admin", Role: "admin", Action: "PUT /api/v1/{kind}/{name}", Resource: "apps/web2", Status: 201},
		{Actor: "admin", Role: "admin", Action: "PUT /api/v1/secrets/data/{path...}", Resource: "secrets/a_b", Status: 200},
		{Actor: "admin", Role: "admin", Action: "PUT /api/v1/secrets/data/{path...}", Resource: "secrets/axb", Status: 200},
	}
	write(t, s, func(tx store.Tx) error {
		var last int64
		for i, e := range entries {
			e.Time = base.Add(time.Duration(i) * time.Minute)
			got, err := tx.AppendAudit(ctx, e)
			if err != nil {
				return err
			}
			if got.ID <= last {
				return fmt.Errorf("entry %d has ID %d after %d", i, got.ID, last)
			}
			last = got.ID
		}
		got, err := tx.AppendAudit(ctx, store.AuditEntry{Action: "POST /x", Status: 500})
		if err != nil || got.Time.IsZero() {
			return fmt.Errorf("an entry without a time: %+v, %v", got, err)
		}
		return nil
	})
	cases := []struct {
		name string
		f    store.AuditFilter
		want []string // resources, oldest first
	}{
		{"resource and below", store.AuditFilter{Resource: "apps/web"}, []string{"apps/web", "apps/web/revisions"}},
		{"no prefix confusion", store.AuditFilter{Resource: "apps/we"}, nil},
		{"wildcards are literal", store.AuditFilter{Resource: "secrets/a_b"}, []string{"secrets/a_b"}},
		{"since", store.AuditFilter{Since: base.Add(5 * time.Minute), Resource: "secrets"}, []string{"secrets/a_b", "secrets/axb"}},
		{"since excludes older", store.AuditFilter{Since: base.Add(90 * time.Second), Resource: "apps"}, []string{"apps", "apps/web/revisions", "apps/web2"}},
	}
	err := s.Read(ctx, func(tx store.Tx) error {
		all, err := tx.ListAudit(ctx, store.AuditFilter{})
		if err != nil {
			return err
		}
		if len(all) != len(entries)+1 {
			return fmt.Errorf("%d entries, want %d", len(all), len(entries)+1)
		}
		first := all[0]
		if first.Actor != "ci" || first.Role != "deployer" || first.Source != "10.0.0.1" || first.Action != "POST /api/v1/apply" ||
			first.Status != 200 || first.BodyDigest != "ab12" || first.RequestID != "r1" || !first.Time.Equal(base) {
			return fmt.Errorf("first entry = %+v", first)
		}
		for _, c := range cases {
			got, err := tx.ListAudit(ctx, c.f)
			if err != nil {
				return err
			}
			var res []string
			for _, e := range got {
				res = append(res, e.Resource)
			}
			if fmt.Sprint(res) != fmt.Sprint(c.want) {
				return fmt.Errorf("%s: %v, want %v", c.name, res, c.want)
			}
		}
		after, err := tx.ListAudit(ctx, store.AuditFilter{AfterID: all[5].ID})
		if err != nil || len(after) != 2 || after[0].ID != all[6].ID {
			return fmt.Errorf("after ID: %+v, %v", after, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testAuditLimit(t *testing.T, s store.Store) {
	ctx := context.Background()
	write(t, s, func(tx store.Tx) error {
		for i := range 5 {
			if _, err := tx.AppendAudit(ctx, store.AuditEntry{Action: "POST /api/v1/apply", RequestID: fmt.Sprint(i), Status: 200}); err != nil {
				return err
			}
		}
		return nil
	})
	err := s.Read(ctx, func(tx store.Tx) error {
		got, err := tx.ListAudit(ctx, store.AuditFilter{Limit: 2})
		if err != nil {
			return err
		}
		if len(got) != 2 || got[0].RequestID != "3" || got[1].RequestID != "4" {
			return fmt.Errorf("limit 2 = %+v, want the newest two, oldest first", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
