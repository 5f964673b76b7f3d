package edge

import (
	"context"
	"log/slog"
	"time"

	"laned/cmb"
	"laned/edge/tariff"
	"laned/hal"
	"laned/hal/clock"
	"laned/store"
)

// laneEnv is what a lane works with besides its own devices: the store,
// the clock, its rules, and the appliance's services through a few narrow
// roles. The Controller provides them; a lane never sees the Controller.
type laneEnv struct {
	db    *store.DB
	clk   clock.Clock
	log   *slog.Logger
	rules laneRules
	price pricer   // prices stays, finds records
	up    uplinks  // builds the uplinks a decision queues
	aud   auditor  // the audit log, and commits held while the store refuses
	hub   laneHub  // the outbox, the space count and the other lanes' boards
	pays  autoPays // the contactless payments under way
}

// laneRules are the parts of Config a lane's decisions read.
type laneRules struct {
	passTimeout, dedupeWindow, autoPayWait time.Duration
	replaceStale, offlineRelease           bool
	reasons                                map[string]string // the board's texts for a refused entry
	site                                   SiteRules
	tollCollector                          string
}

// pricer prices a stay and lists what it paid.
type pricer interface {
	findRecord(plate string, conf, minConf int) (lookup, error)
	quote(rec store.Record, at time.Time) (tariff.Quote, error)
	quoteFrom(rec store.Record, pays []store.Payment, at time.Time, vip bool) (tariff.Quote, error)
	vipAt(rec store.Record, at time.Time) bool
	military(plate string) bool
	arrearsFor(rec store.Record) ([]store.Arrear, error)
	chargeItems(rec store.Record, q tariff.Quote, pays []store.Payment, now time.Time) ([]store.ChargeItem, []store.Message)
	arrearsItems(rec store.Record, q tariff.Quote, items []store.ChargeItem, now time.Time) ([]store.ChargeItem, []store.Arrear)
}

// uplinks builds the messages a lane's decisions commit with a record.
type uplinks interface {
	indata(rec store.Record) ([]store.Message, error)
	outdata(rec store.Record, items []store.ChargeItem) (store.Message, error)
	newRequestOrder(recordID string) string
	autoPayMsg(rec store.Record, due int64, order, postURL string) (store.Message, error)
	pictureMsgs(lane, recordID string, flag cmb.InOutFlag, at time.Time, pics *hal.Pictures) []store.Message
	afterPictures()
}

// auditor writes the audit log.
type auditor interface {
	audit(kind string, laneCode int, format string, args ...any)
	auditMsg(kind string, laneCode int, format string, args ...any) store.Message
	auditOrHold(lane, kind string, laneCode int, format string, args ...any)
	holdCommit(lane, what string, cause error, commit func() error)
}

// laneHub is what a lane tells the rest of the appliance, and the board
// it is given.
type laneHub interface {
	kick()       // the outbox has work
	markSpaces() // the free spaces may have changed
	spaces() (SpaceCount, error)
	refreshBoards(except *lane)
	newAnnouncer(lane string, kind LaneKind, d LaneDisplay) *announcer
}

// autoPays are the contactless payments under way (dispatch.go).
type autoPays interface {
	awaitAutoPay(order, recordID string, l *lane)
	forgetAutoPay(order string)
	autoPayOnWire(order string) bool
	cancelAutoPay(ctx context.Context, order string) (cancelled, busy bool)
	lockOutcomes() (unlock func())
	autoPayHanded(order string) bool
	handedBack(order string, committed bool)
}

func (c *Controller) laneEnv() laneEnv {
	return laneEnv{
		db: c.db, clk: c.clk, log: c.log,
		rules: laneRules{
			passTimeout: c.cfg.PassTimeout, dedupeWindow: c.cfg.DedupeWindow, autoPayWait: c.cfg.AutoPayWait,
			replaceStale: c.cfg.ReplaceStale, offlineRelease: c.cfg.OfflineRelease, reasons: c.cfg.Display.Reasons,
			site: c.cfg.Site, tollCollector: c.cfg.TollCollector,
		},
		price: c, up: c, aud: c, hub: c, pays: c.out,
	}
}

func (c *Controller) military(plate string) bool { return c.tariff.Load().IsMilitaryPolice(plate) }

// autoPayMsg builds the queued AutoPay of a stay's due, sent to the
// binding's post_url when it has a valid one.
func (c *Controller) autoPayMsg(rec store.Record, due int64, order, postURL string) (store.Message, error) {
	ap := cmb.AutoPay{ParkCode: c.cfg.ParkCode, VplNumber: rec.Plate, RecordID: rec.ID, Amount: due, RequestOrder: order}
	vals, err := ap.Values()
	if err != nil {
		return store.Message{}, err
	}
	m := c.msg(store.KindAutoPay, rec.ID, vals)
	m.RequestOrder = order
	if cmb.CheckPostURL(postURL) == nil {
		m.URL = postURL // checked at bind time; an older binding's bad one is not used
	}
	return m, nil
}

// refreshBoards redraws the idle boards of the lanes but one.
func (c *Controller) refreshBoards(except *lane) {
	for _, o := range c.lanes {
		if a := o.disp.Load(); o != except && a != nil {
			a.refreshIdle()
		}
	}
}

func (c *Controller) newAnnouncer(lane string, kind LaneKind, d LaneDisplay) *announcer {
	return newAnnouncer(c, lane, kind, d, c.cfg.Display)
}
