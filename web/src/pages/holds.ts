// pages/holds.ts - outbound mail that sekisho holds before it leaves: the
// list (subject, recipients, attachments, kind, the time left before it is
// sent or its deadline) and one held mail (risk and the symbols behind it,
// a safe preview, the timeline), with "cancel" and "send now" behind an
// inline confirmation.
//
// Every role has this page: the server gives a `user` only the mail they
// sent, and says per item which actions this user may take (`actions`), so
// the buttons shown are the ones the server will accept.

import { api, type HoldDetail, type HoldItem, type Page as ListPage, query } from "../api";
import { type Ctx, errorText, go, href, notice, pageTitle } from "../app";
import { field, h } from "../dom";
import { dateTime, score } from "../format";
import { t, type Key } from "../i18n";
import { previewTabs } from "./quarantine";
import { confirmButton, countdown, offsetOf, pager, runAction } from "../ui";

const LIMIT = 50;
const STATES = ["held", "all", "released", "approved", "cancelled", "rejected", "expired"];

function label(prefix: string, v: string): string {
	const k = `${prefix}.${v}` as Key;
	const s = t(k);
	return s === k ? v : s;
}

export function kindBadge(kind: string): HTMLElement {
	return h("span", { class: `badge kind kind-${kind}`, "data-kind": kind }, label("hold.kind", kind));
}

export function statusBadge(status: string): HTMLElement {
	return h("span", { class: `badge hstatus hstatus-${status}` }, label("hold.status", status));
}

// riskBadge: the risk score, coloured by level (the thresholds are the
// server's; these only pick a colour).
export function riskBadge(risk: number): HTMLElement {
	const level = risk >= 10 ? "high" : risk >= 5 ? "mid" : "low";
	return h("span", { class: `risk risk-${level}`, "data-risk": String(risk) }, score(risk));
}

export function reasonChips(reasons: { name: string; weight: number }[] | undefined): HTMLElement {
	return h("span", { class: "reasons" }, (reasons ?? []).map((r) =>
	    h("span", { class: "chip", title: label("reason", r.name) }, `${r.name} (${score(r.weight)})`)));
}

export function subjectOf(m: { subject: string | null }): string {
	return m.subject || t("q.nosubject");
}

// when: the time that matters for a held mail still waiting: the automatic
// send of a plain hold, else the deadline of an approval or confirmation.
export function when(m: HoldItem): Node | string {
	if (m.status !== "held")
		return m.decided ? dateTime(m.decided) : "";
	if (m.release_at)
		return h("span", null, h("span", { class: "muted" }, `${t("hold.sends")} `), countdown(m.release_at));
	if (m.deadline)
		return h("span", null, h("span", { class: "muted" }, `${t("hold.deadline")} `), countdown(m.deadline));
	return h("span", { class: "muted" }, t("hold.waiting"));
}

// withDetails: the list answer may lack attachments and reasons; then they
// come from each item's detail (a few holds at a time are the usual case).
export async function withDetails(items: HoldItem[]): Promise<HoldItem[]> {
	return Promise.all(items.map(async (m) => {
		if (m.attachments && m.reasons)
			return m;
		try {
			const d = await api<HoldDetail>("GET", `/holds/${encodeURIComponent(m.id)}`);
			return { ...m, attachments: m.attachments ?? d.attachments ?? [],
			    reasons: m.reasons ?? d.reasons ?? [] };
		} catch {
			return m;
		}
	}));
}

export function attachmentNames(m: HoldItem): HTMLElement | string {
	const a = m.attachments ?? [];
	if (a.length === 0)
		return "";
	return h("ul", { class: "att-names" }, a.map((x) => h("li", { title: `${x.type} · ${t("q.size", { n: x.size })}` }, x.name)));
}

// holdButtons: cancel and send now, each asking inline first; `after`
// redraws once the server has acted.
function holdButtons(m: HoldItem, status: HTMLElement, after: (msg: string) => void): HTMLElement {
	const box = h("div", { class: "actions hold-actions" });
	const path = `/holds/${encodeURIComponent(m.id)}`;
	const acts = m.actions ?? [];
	const add = (act: string, el: HTMLElement) => {
		el.dataset.act = act;
		box.appendChild(el);
	};
	if (acts.includes("release"))
		add("release", confirmButton(t("hold.release"), t("hold.release.confirm"), () =>
		    runAction(box, status, () => api("POST", `${path}/release`), t("hold.released"),
			() => after(t("hold.released"))), "primary"));
	if (acts.includes("cancel"))
		add("cancel", confirmButton(t("hold.cancel"), t("hold.cancel.confirm"), () =>
		    runAction(box, status, () => api("POST", `${path}/cancel`), t("hold.cancelled"),
			() => after(t("hold.cancelled")))));
	return box;
}

// holdRow: one held mail in the list; after an action the row is drawn
// again from the server's answer, with the outcome under the buttons.
function holdRow(ctx: Ctx, m: HoldItem, msg?: string): HTMLElement {
	const rowStatus = h("div", { class: "row-status" }, msg ? notice("ok", msg) : null);
	const row: HTMLElement = h("tr", { "data-id": m.id, "data-kind": m.kind, "data-status": m.status },
	    h("td", null, kindBadge(m.kind)),
	    h("td", null, h("a", { href: href(`holds/${encodeURIComponent(m.id)}`),
		"aria-label": t("q.open", { subject: subjectOf(m) }) }, subjectOf(m))),
	    ctx.user.role === "user" ? null : h("td", { class: "addr" }, m.from),
	    h("td", { class: "addr" }, (m.rcpts ?? []).join(", ")),
	    h("td", null, attachmentNames(m)),
	    h("td", { class: "nowrap" }, when(m)),
	    h("td", null, statusBadge(m.status)),
	    h("td", null, holdButtons(m, rowStatus, (done) => {
		api<HoldDetail>("GET", `/holds/${encodeURIComponent(m.id)}`).then((d) =>
		    row.replaceWith(holdRow(ctx, { ...d, attachments: m.attachments, reasons: m.reasons }, done)),
		    () => undefined);
	    }), rowStatus));
	return row;
}

export async function holdsPage(ctx: Ctx): Promise<Node> {
	const p = ctx.route.params;
	const offset = offsetOf(p);
	const state = STATES.includes(p.get("state") ?? "") ? p.get("state")! : "held";
	const r = await api<ListPage<HoldItem>>("GET", `/holds${query({ state, limit: LIMIT, offset })}`);
	const items = await withDetails(r.items ?? []);
	const status = h("div", { class: "status-line" });

	const sel = h("select", { name: "state", onchange: (ev: Event) =>
	    go("holds", { state: (ev.target as HTMLSelectElement).value }) },
	    STATES.map((s) => h("option", { value: s, selected: s === state }, label("hold.state", s))));

	const table = items.length === 0 ? h("p", { class: "muted empty" }, t("hold.none")) :
	    h("div", { class: "table-wrap" }, h("table", { class: "list", id: "holds-list" },
		h("thead", null, h("tr", null,
		    h("th", { scope: "col" }, t("hold.kind")),
		    h("th", { scope: "col" }, t("q.subject")),
		    ctx.user.role === "user" ? null : h("th", { scope: "col" }, t("q.from")),
		    h("th", { scope: "col" }, t("q.rcpts")),
		    h("th", { scope: "col" }, t("q.attachments")),
		    h("th", { scope: "col" }, t("hold.when")),
		    h("th", { scope: "col" }, t("hold.status")),
		    h("th", { scope: "col" }, t("users.actions")))),
		h("tbody", null, items.map((m) => holdRow(ctx, m)))));

	return h("div", null,
	    h("div", { class: "page-head" }, pageTitle(t("hold.title")),
		h("div", { class: "inline-field" }, field(t("hold.state"), sel))),
	    h("p", { class: "muted" }, t(ctx.user.role === "user" ? "hold.intro.user" : "hold.intro")),
	    status, table,
	    pager("holds", p, r.total ?? items.length, offset, LIMIT, items.length));
}

export function timeline(m: HoldDetail): HTMLElement {
	return h("section", { class: "card", "aria-label": t("hold.timeline") },
	    h("h2", null, t("hold.timeline")),
	    h("ol", { class: "timeline" }, (m.timeline ?? []).map((e) =>
		h("li", { "data-event": e.event },
		    dateTime(e.t) ? [h("time", { datetime: e.t }, dateTime(e.t)), " "] : null,
		    h("strong", null, label("hold.event", e.event)),
		    e.by ? h("span", { class: "muted" }, ` — ${e.by}`) : null,
		    e.comment ? h("q", { class: "comment" }, e.comment) : null))));
}

export function holdMeta(m: HoldDetail): HTMLElement {
	const rows: [Key, Node | string][] = [
		["hold.kind", kindBadge(m.kind)],
		["hold.status", statusBadge(m.status)],
		["q.from", m.from],
		["q.rcpts", (m.rcpts ?? []).join(", ")],
		["hold.created", dateTime(m.created)],
	];
	if (m.status === "held" && m.release_at)
		rows.push(["hold.sends", countdown(m.release_at)]);
	if (m.status === "held" && m.deadline)
		rows.push(["hold.deadline", countdown(m.deadline)]);
	rows.push(["hold.risk", riskBadge(m.risk)]);
	if ((m.approvers ?? []).length)
		rows.push(["hold.approvers", m.approvers.join(", ")]);
	if (m.decided)
		rows.push(["hold.decided", `${dateTime(m.decided)}${m.decided_by ? ` — ${m.decided_by}` : ""}`]);
	if (m.comment)
		rows.push(["hold.comment", m.comment]);
	return h("dl", { class: "meta" }, rows.map(([k, v]) => [h("dt", null, t(k)), h("dd", null, v)]));
}

// riskCard: the symbols that made the risk (with their weight and what they
// mean), then the scan's symbols with score and reason.
export function riskCard(m: HoldDetail): HTMLElement {
	return h("section", { class: "card", "aria-label": t("hold.reasons") },
	    h("h2", null, t("hold.reasons")),
	    (m.reasons ?? []).length === 0 ? h("p", { class: "muted" }, t("hold.noreasons")) :
		h("ul", { class: "reason-list" }, m.reasons.map((r) => h("li", { "data-reason": r.name },
		    h("code", null, r.name), " ", h("span", { class: "weight" }, `+${score(r.weight)}`), " ",
		    h("span", null, label("reason", r.name))))),
	    (m.symbols ?? []).length === 0 ? null :
		h("details", { class: "scan-symbols" }, h("summary", null, t("q.symbols")),
		    h("div", { class: "table-wrap" }, h("table", { class: "list symbols" },
			h("thead", null, h("tr", null, h("th", { scope: "col" }, t("q.symbol.name")),
			    h("th", { scope: "col", class: "num" }, t("q.symbol.score")),
			    h("th", { scope: "col" }, t("q.symbol.reason")))),
			h("tbody", null, m.symbols.map((s) => h("tr", { "data-symbol": s.name },
			    h("td", null, h("code", null, s.name)),
			    h("td", { class: "num" }, score(s.score)),
			    h("td", { class: "wrap" }, s.reason))))))));
}

export function attachmentsCard(m: HoldDetail): HTMLElement | null {
	if ((m.attachments ?? []).length === 0)
		return null;
	return h("section", { class: "card", "aria-label": t("q.attachments") },
	    h("h2", null, t("q.attachments")),
	    h("ul", { class: "attachments" }, m.attachments.map((a) =>
		h("li", null, h("span", null, a.name), " ", h("span", { class: "muted" },
		    `${a.type} · ${t("q.size", { n: a.size })}`)))));
}

export function backLink(to: string): HTMLElement {
	return h("p", null, h("a", { href: `#/${to}`, onclick: (ev: Event) => {
		if (history.length > 1) {
			ev.preventDefault();
			history.back();
		}
	} }, `← ${t("common.back")}`));
}

export async function holdDetailPage(ctx: Ctx): Promise<Node> {
	const id = ctx.route.path[1];
	const load = () => api<HoldDetail>("GET", `/holds/${encodeURIComponent(id)}`);
	let m: HoldDetail;
	try {
		m = await load();
	} catch (e) {
		return h("div", null, backLink("holds"), notice("error", errorText(e)));
	}
	// After an action the page is drawn again in place from the server's
	// answer, with the outcome kept on top.
	let root: HTMLElement;
	const refresh = async (msg: string) => {
		try {
			const next = holdView(await load(), refresh);
			next.querySelector(".status-line")?.replaceChildren(notice("ok", msg));
			root.replaceWith(next);
			root = next;
		} catch (e) {
			root.querySelector(".status-line")?.replaceChildren(notice("error", errorText(e)));
		}
	};
	root = holdView(m, refresh);
	return root;
}

function holdView(m: HoldDetail, refresh: (msg: string) => Promise<void>): HTMLElement {
	const status = h("div", { class: "status-line" });
	return h("div", { class: "detail hold-detail" },
	    backLink("holds"),
	    pageTitle(subjectOf(m)),
	    holdMeta(m),
	    holdButtons(m, status, (msg) => void refresh(msg)), status,
	    riskCard(m),
	    attachmentsCard(m),
	    previewTabs(m),
	    timeline(m));
}
