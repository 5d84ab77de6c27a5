// pages/messages.ts - the message log: search by text, sender, recipient,
// subject, symbol, action and time (GET /messages), newest first.

import { api, type MsgItem, type Page as ListPage, query } from "../api";
import { type Ctx, pageTitle } from "../app";
import { h } from "../dom";
import { dateTime, score } from "../format";
import { t, type Key } from "../i18n";
import { filterForm, offsetOf, pager } from "../ui";

const LIMIT = 50;
const FILTERS = ["q", "sender", "rcpt", "subject", "symbol", "action", "since", "until"] as const;
const ACTIONS = ["deliver", "tag", "quarantine", "reject", "hold"];

function label(prefix: string, v: string): string {
	const k = `${prefix}.${v}` as Key;
	const s = t(k);
	return s === k ? v : s;
}

export async function messagesPage(ctx: Ctx): Promise<Node> {
	const p = ctx.route.params;
	const offset = offsetOf(p);
	const q: Record<string, string | number> = { limit: LIMIT, offset };
	for (const f of FILTERS)
		q[f] = p.get(f) ?? "";
	const r = await api<ListPage<MsgItem>>("GET", `/messages${query(q)}`);
	const items = r.items ?? [];

	const form = filterForm("messages", [
		{ name: "q", label: t("q.q") },
		{ name: "sender", label: t("q.sender") },
		{ name: "rcpt", label: t("q.rcpt") },
		{ name: "subject", label: t("q.subject") },
		{ name: "symbol", label: t("q.symbol") },
		{ name: "action", label: t("q.action"), type: "select",
		    options: [["", t("action.any")], ...ACTIONS.map((a): [string, string] => [a, label("action", a)])] },
		{ name: "since", label: t("q.since"), type: "datetime" },
		{ name: "until", label: t("q.until"), type: "datetime" },
	], p);

	const table = items.length === 0 ? h("p", { class: "muted empty" }, t("common.none")) :
	    h("div", { class: "table-wrap" }, h("table", { class: "list", id: "message-log" },
		h("thead", null, h("tr", null,
		    h("th", { scope: "col" }, t("q.received")),
		    h("th", { scope: "col" }, t("m.direction")),
		    h("th", { scope: "col" }, t("q.from")),
		    h("th", { scope: "col" }, t("q.rcpts")),
		    h("th", { scope: "col" }, t("q.subject")),
		    h("th", { scope: "col" }, t("q.action")),
		    h("th", { scope: "col", class: "num" }, t("q.score")),
		    h("th", { scope: "col" }, t("m.state")),
		    h("th", { scope: "col" }, t("q.symbols")))),
		h("tbody", null, items.map((m) => h("tr", { "data-id": m.id },
		    h("td", { class: "nowrap" }, dateTime(m.received)),
		    h("td", null, label("m", m.direction)),
		    h("td", { class: "addr" }, m.from),
		    h("td", { class: "addr" }, (m.rcpts ?? []).join(", ")),
		    h("td", null, m.subject || t("q.nosubject")),
		    h("td", null, h("span", { class: `badge badge-${m.action}` }, label("action", m.action))),
		    h("td", { class: "num" }, score(m.score)),
		    h("td", null, label("state", m.state)),
		    h("td", null, (m.symbols ?? []).map((x) => h("span", { class: "chip" }, x))))))));

	return h("div", null,
	    pageTitle(t("m.title")),
	    h("details", { class: "filter-box", open: FILTERS.some((f) => p.get(f)) },
		h("summary", null, t("q.filter")), form),
	    table,
	    pager("messages", p, r.total ?? items.length, offset, LIMIT, items.length));
}
