package appliance

import (
	"fmt"
	"strings"
	"time"

	"laned/appliance/config"
	"laned/edge/tariff"
	"laned/store"

	_ "time/tzdata" // the binary carries the zone database: a Pi may have none
)

// reload re-reads the configuration on SIGHUP: when it is valid, the
// tariff is swapped and the vehicle lists re-synced; otherwise every
// problem is logged and the running configuration stays.
func (d *Daemon) reload() {
	d.sd.Reloading()
	defer d.sd.Ready("reloaded")
	cfg, ps, err := config.Load(d.cfg.Path)
	if err == nil && len(ps) > 0 {
		err = config.ProblemsError(ps)
	}
	if err != nil {
		for _, p := range ps {
			d.log.Error("reload: configuration problem", "problem", p.String())
		}
		d.log.Error("reload refused: keeping the running tariff and vehicle lists", "err", err)
		return
	}
	eng, err := tariff.New(cfg.Tariff)
	if err != nil {
		d.log.Error("reload refused: tariff", "err", err)
		return
	}
	d.ctl.SetTariff(eng)
	put, del, err := SyncVehicles(d.db, cfg)
	if err != nil {
		d.log.Error("reload: vehicle lists", "err", err)
	}
	d.db.Audit(store.AuditEvent{Kind: "config", Detail: fmt.Sprintf("reloaded: tariff, vehicles %d put %d deleted", put, del)})
	d.log.Info("reloaded tariff and vehicle lists; other changes apply at the next restart", "vehicles_put", put, "vehicles_deleted", del)
}

// VehicleNote marks the store's list entries that come from the file:
// only those are deleted when the file drops them.
const VehicleNote = "config"

func vehicleNoteOf(note string) string {
	if note == "" {
		return VehicleNote
	}
	return VehicleNote + ": " + note
}

func fromConfig(v store.Vehicle) bool {
	return v.Note == VehicleNote || strings.HasPrefix(v.Note, VehicleNote+": ")
}

// SyncVehicles makes the store's file-made list entries those of cfg, in
// one store transaction: entries are put (when new or changed) and the
// file-made entries the file no longer has are deleted. Entries made at
// the console stay.
func SyncVehicles(db *store.DB, cfg *config.Config) (put, deleted int, err error) {
	loc := cfg.Park.Location
	if loc == nil {
		loc = time.UTC
	}
	want := make([]store.Vehicle, 0, len(cfg.Vehicles))
	for _, vc := range cfg.Vehicles {
		want = append(want, store.Vehicle{
			Plate: strings.ToUpper(strings.TrimSpace(vc.Plate)), List: store.List(vc.List),
			From: vc.From.In(loc), Until: vc.Until.In(loc), Note: vehicleNoteOf(vc.Note),
		})
	}
	return db.SyncVehicles(want, fromConfig)
}
