// pages/settings.ts - admin only: the running configuration, read-only
// (GET /config, secrets already redacted by the server), with a filter box,
// and the latest entries of the audit log (GET /audit).

import { api } from "../api";
import { type Ctx, errorText, notice, pageTitle } from "../app";
import { field, h } from "../dom";
import { dateTime } from "../format";
import { t } from "../i18n";

interface Audit {
	t: string;
	user: string;
	ip: string;
	action: string;
	target: string;
	detail: string;
}

async function auditSection(): Promise<HTMLElement> {
	let body: Node;
	try {
		const r = await api<{ items: Audit[] }>("GET", "/audit?limit=50");
		const items = r.items ?? [];
		body = items.length === 0 ? h("p", { class: "muted" }, t("common.none")) :
		    h("div", { class: "table-wrap" }, h("table", { class: "list" },
			h("thead", null, h("tr", null, (["t", "user", "ip", "action", "target", "detail"] as const).map((k) =>
			    h("th", { scope: "col" }, t(`set.audit.${k}`))))),
			h("tbody", null, items.map((a) => h("tr", null,
			    h("td", { class: "nowrap" }, dateTime(a.t)), h("td", null, a.user), h("td", null, a.ip),
			    h("td", null, a.action), h("td", { class: "wrap" }, a.target), h("td", { class: "wrap" }, a.detail))))));
	} catch (e) {
		body = notice("error", errorText(e));
	}
	return h("section", { class: "card", "aria-label": t("set.audit") }, h("h2", null, t("set.audit")), body);
}

export async function settingsPage(_ctx: Ctx): Promise<Node> {
	const r = await api<{ options: { name: string; value: string }[] }>("GET", "/config");
	const options = r.options ?? [];
	const rows = options.map((o) => h("tr", { "data-name": o.name },
	    h("th", { scope: "row" }, h("code", null, o.name)), h("td", { class: "wrap mono" }, String(o.value ?? ""))));
	const filter = h("input", { type: "search", oninput: () => {
		const needle = filter.value.trim().toLowerCase();
		rows.forEach((tr, i) => {
			const o = options[i];
			tr.hidden = needle !== "" && !o.name.toLowerCase().includes(needle) &&
			    !String(o.value ?? "").toLowerCase().includes(needle);
		});
	} });
	return h("div", null,
	    pageTitle(t("set.title")),
	    h("p", { class: "muted" }, t("set.note")),
	    h("div", { class: "inline-field" }, field(t("set.filter"), filter)),
	    h("div", { class: "table-wrap" }, h("table", { class: "list config", id: "config" },
		h("thead", null, h("tr", null, h("th", { scope: "col" }, t("set.name")), h("th", { scope: "col" }, t("set.value")))),
		h("tbody", null, rows))),
	    await auditSection());
}
