// pages/quarantine.ts - the quarantine list (search and filters in the URL)
// and one message: verdict, symbols with score and reason, a safe preview,
// and the actions release, delete and learn spam / not spam.
//
// The preview never renders mail HTML in the console's own document: the
// server's sanitized HTML goes into an <iframe sandbox=""> through srcdoc
// (no scripts, no forms, no navigation, a unique origin), with a CSP that
// forbids every load except inline styles and data: images.  Plain text is
// shown as text.

import { api, type Page as ListPage, type QDetail, type QItem, query } from "../api";
import { type Ctx, errorText, href, notice, pageTitle } from "../app";
import { h } from "../dom";
import { dateTime, score } from "../format";
import { t, type Key } from "../i18n";
import { confirmButton, filterForm, offsetOf, pager } from "../ui";

const LIMIT = 50;
const FILTERS = ["q", "sender", "rcpt", "symbol", "since", "until"] as const;

function actionLabel(a: string): string {
	const k = `action.${a}` as Key;
	const v = t(k);
	return v === k ? a : v;
}

export async function quarantinePage(ctx: Ctx): Promise<Node> {
	const p = ctx.route.params;
	const offset = offsetOf(p);
	const q: Record<string, string | number> = { limit: LIMIT, offset };
	for (const f of FILTERS)
		q[f] = p.get(f) ?? "";
	const r = await api<ListPage<QItem>>("GET", `/quarantine${query(q)}`);
	const items = r.items ?? [];

	const form = filterForm("quarantine", [
		{ name: "q", label: t("q.q") },
		{ name: "sender", label: t("q.sender") },
		{ name: "rcpt", label: t("q.rcpt") },
		{ name: "symbol", label: t("q.symbol") },
		{ name: "since", label: t("q.since"), type: "datetime" },
		{ name: "until", label: t("q.until"), type: "datetime" },
	], p);

	const table = items.length === 0 ? h("p", { class: "muted empty" }, t("common.none")) :
	    h("div", { class: "table-wrap" }, h("table", { class: "list", id: "quarantine-list" },
		h("thead", null, h("tr", null,
		    h("th", { scope: "col" }, t("q.received")),
		    h("th", { scope: "col" }, t("q.from")),
		    h("th", { scope: "col" }, t("q.rcpts")),
		    h("th", { scope: "col" }, t("q.subject")),
		    h("th", { scope: "col", class: "num" }, t("q.score")),
		    h("th", { scope: "col" }, t("q.symbols")))),
		h("tbody", null, items.map((m) => {
			const subj = m.subject || t("q.nosubject");
			return h("tr", { "data-id": m.id },
			    h("td", { class: "nowrap" }, dateTime(m.received)),
			    h("td", { class: "addr" }, m.from),
			    h("td", { class: "addr" }, (m.rcpts ?? []).join(", ")),
			    h("td", null, h("a", { href: href(`quarantine/${encodeURIComponent(m.id)}`),
				"aria-label": t("q.open", { subject: subj }) }, subj)),
			    h("td", { class: "num" }, score(m.score)),
			    h("td", null, (m.symbols ?? []).map((s) => h("span", { class: "chip" }, s))));
		}))));

	return h("div", null,
	    pageTitle(t("q.title")),
	    h("details", { class: "filter-box", open: FILTERS.some((f) => p.get(f)) },
		h("summary", null, t("q.filter")), form),
	    table,
	    pager("quarantine", p, r.total ?? items.length, offset, LIMIT, items.length));
}

// previewDoc: the iframe document around the server's sanitized HTML.  Its
// own CSP allows nothing but the console's preview.css and data: images
// (and the console's CSP, which a srcdoc document inherits, applies too).
export function previewDoc(html: string, cssUrl: string): string {
	const origin = new URL(cssUrl).origin;
	return "<!doctype html><html><head><meta charset=\"utf-8\">" +
	    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${origin}; img-src data:">` +
	    `<link rel="stylesheet" href="${cssUrl}"></head><body>` +
	    html + "</body></html>";
}

// previewTabs: HTML (sandboxed), text and headers of a mail; the held-mail
// and approval pages use it too.
export function previewTabs(m: Pick<QDetail, "html" | "text" | "headers">): HTMLElement {
	const tabs: { id: string; label: string; panel: () => HTMLElement }[] = [];
	if (m.html) {
		tabs.push({ id: "html", label: t("q.preview.html"), panel: () =>
		    h("iframe", { class: "preview-frame", sandbox: "", referrerpolicy: "no-referrer",
			title: t("q.preview.frame"),
			srcdoc: previewDoc(m.html ?? "", new URL("preview.css", document.baseURI).href) }) });
	}
	tabs.push({ id: "text", label: t("q.preview.text"), panel: () => m.text
	    ? h("pre", { class: "preview-text" }, m.text)
	    : h("p", { class: "muted" }, t("q.preview.empty")) });
	tabs.push({ id: "headers", label: t("q.preview.headers"), panel: () =>
	    h("div", { class: "table-wrap" }, h("table", { class: "list headers" },
		h("thead", null, h("tr", null, h("th", { scope: "col" }, t("q.header.name")),
		    h("th", { scope: "col" }, t("q.header.value")))),
		h("tbody", null, (m.headers ?? []).map(([k, v]) =>
		    h("tr", null, h("th", { scope: "row" }, k), h("td", { class: "wrap" }, v)))))) });

	const panel = h("div", { class: "tab-panel", role: "tabpanel", tabindex: "0" });
	const buttons: HTMLButtonElement[] = [];
	const select = (i: number, focus: boolean) => {
		buttons.forEach((b, j) => {
			b.setAttribute("aria-selected", String(i === j));
			b.tabIndex = i === j ? 0 : -1;
		});
		panel.setAttribute("aria-labelledby", buttons[i].id);
		panel.replaceChildren(tabs[i].panel());
		if (focus)
			buttons[i].focus();
	};
	tabs.forEach((tb, i) => {
		buttons.push(h("button", { type: "button", role: "tab", id: `tab-${tb.id}`, "data-tab": tb.id,
		    onclick: () => select(i, false),
		    onkeydown: (ev: KeyboardEvent) => {
			if (ev.key === "ArrowRight")
				select((i + 1) % tabs.length, true);
			else if (ev.key === "ArrowLeft")
				select((i + tabs.length - 1) % tabs.length, true);
		    } }, tb.label));
	});
	const box = h("section", { class: "card preview", "aria-label": t("q.preview") },
	    h("h2", null, t("q.preview")),
	    h("div", { class: "tabs", role: "tablist", "aria-label": t("q.preview") }, buttons), panel);
	select(0, false);
	return box;
}

export async function quarantineDetailPage(ctx: Ctx): Promise<Node> {
	const id = ctx.route.path[1];
	const m = await api<QDetail>("GET", `/quarantine/${encodeURIComponent(id)}`);
	const status = h("div", { class: "status-line" });
	const path = `/quarantine/${encodeURIComponent(id)}`;

	const actions = h("div", { class: "actions" });
	const run = async (what: string, body: unknown, done: string, after?: () => void) => {
		status.replaceChildren();
		actions.querySelectorAll("button").forEach((b) => { b.disabled = true; });
		try {
			await api("POST", `${path}/${what}`, body);
			status.replaceChildren(notice("ok", done));
			after?.();
		} catch (e) {
			status.replaceChildren(notice("error", errorText(e)));
		} finally {
			actions.querySelectorAll("button").forEach((b) => { b.disabled = false; });
		}
	};
	const finished = () => {
		actions.replaceChildren(h("a", { href: href("quarantine"), class: "button" }, t("common.back")));
	};
	const buttons: HTMLElement[] = [
	    h("button", { type: "button", class: "primary", "data-act": "release",
		onclick: () => run("release", undefined, t("q.released"), finished) }, t("q.release")),
	    h("button", { type: "button", "data-act": "spam",
		onclick: () => run("learn", { label: "spam" }, t("q.learned.spam")) }, t("q.spam")),
	    h("button", { type: "button", "data-act": "ham",
		onclick: () => run("learn", { label: "ham" }, t("q.learned.ham")) }, t("q.ham")),
	    // The server decides who may do what; a refusal shows as an error.
	    confirmButton(t("q.delete"), t("q.delete.confirm"),
		() => run("delete", undefined, t("q.deleted"), finished)),
	];
	actions.append(...buttons);

	const meta: [Key, Node | string][] = [
		["q.received", dateTime(m.received)],
		["q.from", m.from],
		["q.rcpts", (m.rcpts ?? []).join(", ")],
		["q.subject", m.subject || t("q.nosubject")],
		["q.score", score(m.score)],
		["q.action", actionLabel(m.action)],
	];
	if (m.direction)
		meta.push(["m.direction", t(m.direction === "outbound" ? "m.outbound" : "m.inbound")]);

	return h("div", { class: "detail" },
	    h("p", null, h("a", { href: "#/quarantine", onclick: (ev: Event) => {
		if (history.length > 1) {
			ev.preventDefault();
			history.back();
		}
	    } }, `← ${t("common.back")}`)),
	    pageTitle(m.subject || t("q.nosubject")),
	    h("dl", { class: "meta" }, meta.map(([k, v]) => [h("dt", null, t(k)), h("dd", null, v)])),
	    actions, status,
	    h("section", { class: "card", "aria-label": t("q.symbols") },
		h("h2", null, t("q.symbols")),
		h("div", { class: "table-wrap" }, h("table", { class: "list symbols" },
		    h("thead", null, h("tr", null, h("th", { scope: "col" }, t("q.symbol.name")),
			h("th", { scope: "col", class: "num" }, t("q.symbol.score")),
			h("th", { scope: "col" }, t("q.symbol.reason")))),
		    h("tbody", null, (m.symbols ?? []).map((s) => h("tr", { "data-symbol": s.name },
			h("td", null, h("code", null, s.name)),
			h("td", { class: `num ${s.score > 0 ? "pos" : s.score < 0 ? "neg" : ""}` }, score(s.score)),
			h("td", { class: "wrap" }, s.reason))))))),
	    previewTabs(m),
	    (m.attachments ?? []).length === 0 ? null :
		h("section", { class: "card", "aria-label": t("q.attachments") },
		    h("h2", null, t("q.attachments")),
		    h("ul", { class: "attachments" }, m.attachments.map((a) =>
			h("li", null, h("span", null, a.name), " ", h("span", { class: "muted" },
			    `${a.type} · ${t("q.size", { n: a.size })}`))))));
}

