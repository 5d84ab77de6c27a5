// pages/dashboard.ts - totals and four charts from GET /stats?hours=N:
// mail by action per hour (stacked bars), top symbols, most-targeted
// recipients (ranked bars), login attacks over time (lines: the server's
// `logins` series of failed and refused logins per hour, console and mail)
// and held outbound mail by outcome.

import { api, type Stats } from "../api";
import { type Ctx, go, pageTitle } from "../app";
import { hbars, lines, stackedBars, type Series } from "../chart";
import { fillHours } from "../chart-scale";
import { field, h } from "../dom";
import { dayHour, hour, num } from "../format";
import { t, type Key } from "../i18n";

const PERIODS = [24, 72, 168];

function card(title: string, body: Node, cls = ""): HTMLElement {
	return h("section", { class: `card ${cls}`, "aria-label": title }, h("h2", null, title), body);
}

function empty(): HTMLElement {
	return h("p", { class: "muted empty" }, t("dash.nodata"));
}

export async function dashboardPage(ctx: Ctx): Promise<Node> {
	const hoursParam = Number(ctx.route.params.get("hours"));
	const hours = PERIODS.includes(hoursParam) ? hoursParam : 24;
	const st = await api<Stats>("GET", `/stats?hours=${hours}`);

	const period = h("select", { onchange: (ev: Event) =>
	    go("dashboard", { hours: (ev.target as HTMLSelectElement).value }) },
	    PERIODS.map((p) => h("option", { value: String(p), selected: p === hours }, t("dash.hours", { n: p }))));

	const totals = st.totals ?? { received: 0, delivered: 0, quarantined: 0, rejected: 0 };
	const totalKeys: [keyof Stats["totals"], Key][] = [
		["received", "dash.total.received"], ["delivered", "dash.total.delivered"],
		["quarantined", "dash.total.quarantined"], ["rejected", "dash.total.rejected"]];

	const actions: Series[] = (["deliver", "tag", "quarantine", "reject", "hold"] as const).map((a) =>
	    ({ key: a, label: t(`action.${a}` as Key), color: `var(--c-${a})` }));
	// Every hour of the period, zeros where the server has no row.
	const now = Date.now();
	const byAction = fillHours(st.by_action ?? [], hours, now,
	    (t) => ({ t, deliver: 0, tag: 0, quarantine: 0, reject: 0, hold: 0 }));
	const logins = fillHours(st.logins ?? [], hours, now, (t) => ({ t, failures: 0, refused: 0 }));
	const label = hours > 24 ? dayHour : hour;
	const anyAction = (st.by_action ?? []).length > 0;
	const anyLogin = (st.logins ?? []).length > 0;
	const loginSeries: Series[] = [
		{ key: "failures", label: t("dash.logins.failures"), color: "var(--c-fail)" },
		{ key: "refused", label: t("dash.logins.refused"), color: "var(--c-refused)" }];
	const sym = st.top_symbols ?? [];
	const targets = st.top_targets ?? [];

	return h("div", { class: "dashboard" },
	    h("div", { class: "page-head" }, pageTitle(t("dash.title")),
		h("div", { class: "inline-field" }, field(t("dash.period"), period))),
	    h("ul", { class: "totals" }, totalKeys.map(([k, label]) =>
		h("li", { class: `total total-${k}` }, h("span", { class: "total-label" }, t(label)),
		    h("span", { class: "total-value", "data-total": k }, num(totals[k]))))),
	    h("div", { class: "grid" },
		card(t("dash.by_action"), anyAction
		    ? stackedBars(t("dash.by_action"), byAction.map((r) => label(r.t)), actions, byAction)
		    : empty(), "wide"),
		card(t("dash.top_symbols"), sym.length
		    ? hbars(t("dash.top_symbols"), sym.map((x) => ({ label: x.name, count: x.count })))
		    : empty()),
		card(t("dash.top_targets"), targets.length
		    ? hbars(t("dash.top_targets"), targets.map((x) => ({ label: x.rcpt, count: x.count })))
		    : empty()),
		card(t("dash.logins"), anyLogin
		    ? lines(t("dash.logins"), logins.map((r) => label(r.t)), loginSeries, logins)
		    : empty(), "wide"),
		st.holds ? card(t("dash.holds"), holdCounts(st.holds), "wide") : null));
}

// holdCounts: outbound mail held in the period, by what became of it.
function holdCounts(c: NonNullable<Stats["holds"]>): HTMLElement {
	const keys: [keyof typeof c, Key][] = [["held", "dash.holds.held"], ["released", "hold.status.released"],
	    ["approved", "hold.status.approved"], ["cancelled", "hold.status.cancelled"],
	    ["rejected", "hold.status.rejected"], ["expired", "hold.status.expired"]];
	return h("ul", { class: "hold-counts" }, keys.map(([k, l]) =>
	    h("li", null, h("span", { class: "total-label" }, t(l)),
		h("span", { class: "hold-count", "data-holds": k }, num(c[k])))));
}
