// pages/later.ts - held mail, approvals and account security.  Their API
// lands on other branches; the navigation shows them only once the server
// answers, and this page lists what the server reports, field by field,
// without assuming more of the shape than {"items": [...]}.

import { api } from "../api";
import { type Ctx, pageTitle } from "../app";
import { h } from "../dom";
import { t, type Key } from "../i18n";

function cell(v: unknown): string {
	if (v === null || v === undefined)
		return "";
	if (Array.isArray(v))
		return v.map(cell).join(", ");
	if (typeof v === "object")
		return JSON.stringify(v);
	return String(v);
}

export async function laterPage(ctx: Ctx): Promise<Node> {
	const what = ctx.route.path[0];
	const r = await api<{ items?: Record<string, unknown>[] } | Record<string, unknown>[]>("GET", `/${what}?limit=100`);
	const items = Array.isArray(r) ? r : r.items ?? [];
	const cols: string[] = [];
	for (const it of items)
		for (const k of Object.keys(it))
			if (!cols.includes(k))
				cols.push(k);
	return h("div", null,
	    pageTitle(t(`nav.${what}` as Key)),
	    h("p", { class: "muted" }, t("later.note")),
	    items.length === 0 ? h("p", { class: "muted empty" }, t("common.none")) :
		h("div", { class: "table-wrap" }, h("table", { class: "list" },
		    h("thead", null, h("tr", null, cols.map((c) => h("th", { scope: "col" }, c)))),
		    h("tbody", null, items.map((it) => h("tr", null, cols.map((c) => h("td", { class: "wrap" }, cell(it[c])))))))));
}
