// pages/accounts.ts - account security: alerts (acknowledge), locked
// accounts (lock with a reason and a duration, unlock), recent logins with
// IP address and country, and incidents (open one for a login, the four
// steps of the playbook with done and a note, the timeline, close, and a
// printable report).
//
// An admin sees and does everything; any other role sees only their own
// logins, alerts and lock (the server filters) and no incidents.

import { api, type Alert, type Incident, type IncidentDetail, type IncidentOpened, type Items,
    type Lock, type Login, query } from "../api";
import { type Ctx, errorText, go, href, notice, pageTitle } from "../app";
import { field, h } from "../dom";
import { dateTime } from "../format";
import { lang, t, type Key } from "../i18n";
import { confirmButton, countdown, filterForm, runAction } from "../ui";
import { backLink } from "./holds";

const DURATIONS = ["1h", "24h", "7d", ""];	/* "" = until unlocked */
const STEPS = ["account", "password", "contacts", "device"];

function label(prefix: string, v: string): string {
	const k = `${prefix}.${v}` as Key;
	const s = t(k);
	return s === k ? v : s;
}

// country: "JP" -> "Japan (JP)" / "日本 (JP)"; "" -> "unknown".
export function country(code: string): string {
	if (!code)
		return t("acc.country.unknown");
	try {
		const name = new Intl.DisplayNames([lang() === "ja" ? "ja-JP" : "en-GB"], { type: "region" }).of(code);
		return name && name !== code ? `${name} (${code})` : code;
	} catch {
		return code;
	}
}

function card(id: string, title: string, ...body: (Node | null)[]): HTMLElement {
	return h("section", { class: "card", id, "aria-label": title }, h("h2", null, title), body);
}

function failed(e: unknown): HTMLElement {
	return notice("error", errorText(e));
}

async function settle<T>(p: Promise<T>): Promise<T | Error> {
	try {
		return await p;
	} catch (e) {
		return e instanceof Error ? e : new Error(String(e));
	}
}

// ---- alerts ----

function alertsCard(ctx: Ctx, r: Items<Alert> | Error, all: boolean): HTMLElement {
	const admin = ctx.user.role === "admin";
	const status = h("div", { class: "status-line" });
	const toggle = h("label", { class: "check" },
	    h("input", { type: "checkbox", name: "alerts-all", checked: all, onchange: (ev: Event) =>
		go("accounts", { ...Object.fromEntries(ctx.route.params), alerts: (ev.target as HTMLInputElement).checked ? "all" : "" }) }),
	    ` ${t("acc.alerts.all")}`);
	if (r instanceof Error)
		return card("alerts", t("acc.alerts"), failed(r));
	const items = r.items ?? [];
	return card("alerts", t("acc.alerts"), toggle, status,
	    items.length === 0 ? h("p", { class: "muted empty" }, t("acc.alerts.none")) :
		h("div", { class: "table-wrap" }, h("table", { class: "list", id: "alerts-table" },
		    h("thead", null, h("tr", null,
			h("th", { scope: "col" }, t("acc.time")),
			h("th", { scope: "col" }, t("acc.alert.kind")),
			h("th", { scope: "col" }, t("acc.login")),
			h("th", { scope: "col" }, t("acc.ip")),
			h("th", { scope: "col" }, t("acc.detail")),
			h("th", { scope: "col" }, t("users.actions")))),
		    h("tbody", null, items.map((a) => {
			const cell = h("td", null);
			if (a.acknowledged)
				cell.appendChild(h("span", { class: "muted" }, t("acc.alert.acked")));
			else if (admin)
				cell.appendChild(h("button", { type: "button", "data-act": "ack", onclick: () =>
				    runAction(cell, status, () => api("POST", `/accounts/alerts/${a.id}/ack`),
					t("acc.alert.acked.done"), () => cell.replaceChildren(
					    h("span", { class: "muted" }, t("acc.alert.acked")))) }, t("acc.alert.ack")));
			return h("tr", { "data-id": String(a.id), class: a.acknowledged ? "acked" : "" },
			    h("td", { class: "nowrap" }, dateTime(a.t)),
			    h("td", null, h("span", { class: "badge alert-kind", title: a.kind }, label("alert", a.kind))),
			    h("td", { class: "addr" }, a.login),
			    h("td", { class: "addr mono" }, a.ip),
			    h("td", { class: "wrap" }, a.detail),
			    cell);
		})))));
}

// ---- locks ----

function lockForm(status: HTMLElement): HTMLElement {
	const login = h("input", { name: "login", required: true, autocomplete: "off" });
	const reason = h("input", { name: "reason", required: true });
	const dur = h("select", { name: "for" }, DURATIONS.map((d) =>
	    h("option", { value: d, selected: d === "24h" }, d ? label("acc.for", d) : t("acc.for.forever"))));
	const submit = h("button", { type: "submit", class: "danger" }, t("acc.lock"));
	const form: HTMLFormElement = h("form", { class: "lock-form inline-form", onsubmit: (ev: Event) => {
		ev.preventDefault();
		if (!login.value.trim() || !reason.value.trim()) {
			status.replaceChildren(notice("error", t("acc.lock.need")));
			return;
		}
		runAction(form, status, () => api("POST", "/accounts/locks",
		    { login: login.value.trim(), reason: reason.value.trim(), for: dur.value }),
		    t("acc.locked", { login: login.value.trim() }), () => setTimeout(() => redraw(), 700));
	} },
	    field(t("acc.login"), login), field(t("acc.reason"), reason), field(t("acc.for"), dur),
	    h("div", { class: "form-end" }, submit));
	return form;
}

function redraw(): void {
	const p = new URLSearchParams(location.hash.split("?")[1] ?? "");
	p.set("r", String(Date.now()));
	go("accounts", Object.fromEntries(p));
}

function locksCard(ctx: Ctx, r: Items<Lock> | Error): HTMLElement {
	const admin = ctx.user.role === "admin";
	const status = h("div", { class: "status-line" });
	if (r instanceof Error)
		return card("locks", t("acc.locks"), failed(r));
	const items = r.items ?? [];
	return card("locks", t("acc.locks"),
	    admin ? lockForm(status) : null, status,
	    items.length === 0 ? h("p", { class: "muted empty" }, t("acc.locks.none")) :
		h("div", { class: "table-wrap" }, h("table", { class: "list", id: "locks-table" },
		    h("thead", null, h("tr", null,
			h("th", { scope: "col" }, t("acc.login")),
			h("th", { scope: "col" }, t("acc.since")),
			h("th", { scope: "col" }, t("acc.until")),
			h("th", { scope: "col" }, t("acc.reason")),
			admin ? h("th", { scope: "col" }, t("users.actions")) : null)),
		    h("tbody", null, items.map((l) => {
			const cell = h("td", null);
			if (admin) {
				const c = confirmButton(t("acc.unlock"), t("acc.unlock.confirm", { login: l.login }), () =>
				    runAction(cell, status, () => api("DELETE", `/accounts/locks/${encodeURIComponent(l.login)}`),
					t("acc.unlocked", { login: l.login }), () => setTimeout(() => redraw(), 700)), "primary");
				c.dataset.act = "unlock";
				cell.appendChild(c);
			}
			return h("tr", { "data-login": l.login },
			    h("td", { class: "addr" }, l.login),
			    h("td", { class: "nowrap" }, dateTime(l.created)),
			    h("td", { class: "nowrap" }, l.until ? [dateTime(l.until), " ", h("span", { class: "muted" }, "(", countdown(l.until), ")")]
				: t("acc.until.cleared")),
			    h("td", { class: "wrap" }, l.reason),
			    admin ? cell : null);
		})))));
}

// ---- logins ----

function loginsCard(ctx: Ctx, r: Items<Login> | Error): HTMLElement {
	const admin = ctx.user.role === "admin";
	const form = admin ? filterForm("accounts", [
		{ name: "login", label: t("acc.login") },
		{ name: "result", label: t("acc.result"), type: "select", options: [["", t("acc.result.any")],
		    ["ok", t("acc.result.ok")], ["fail", t("acc.result.fail")], ["refused", t("acc.result.refused")]] },
	], ctx.route.params) : null;
	if (r instanceof Error)
		return card("logins", t("acc.logins"), form, failed(r));
	const items = r.items ?? [];
	return card("logins", t("acc.logins"), form,
	    items.length === 0 ? h("p", { class: "muted empty" }, t("acc.logins.none")) :
		h("div", { class: "table-wrap" }, h("table", { class: "list", id: "logins-table" },
		    h("thead", null, h("tr", null,
			h("th", { scope: "col" }, t("acc.time")),
			h("th", { scope: "col" }, t("acc.login")),
			h("th", { scope: "col" }, t("acc.ip")),
			h("th", { scope: "col" }, t("acc.country")),
			h("th", { scope: "col" }, t("acc.protocol")),
			h("th", { scope: "col" }, t("acc.result")))),
		    h("tbody", null, items.map((l) => h("tr", { "data-result": l.result },
			h("td", { class: "nowrap" }, dateTime(l.t)),
			h("td", { class: "addr" }, l.login),
			h("td", { class: "addr mono" }, l.ip),
			h("td", null, country(l.country)),
			h("td", null, l.protocol),
			h("td", null, h("span", { class: `badge result-${l.result}` }, label("acc.result", l.result)))))))));
}

// ---- incidents ----

// openedView: the answer of POST /incidents, shown once: the temporary
// password of step 2 is never stored and cannot be shown again.
function openedView(r: IncidentOpened): HTMLElement {
	let pw = "";
	for (const s of r.steps ?? [])
		if (typeof s.temporary_password === "string")
			pw = s.temporary_password;
	return h("div", { class: "opened" },
	    notice("ok", t("inc.opened", { id: r.id, login: r.login })),
	    pw ? h("dl", { class: "secret meta" }, h("dt", null, t("inc.temp_password")),
		h("dd", null, h("code", { "data-secret": "temporary_password" }, pw))) : null,
	    pw ? h("p", { class: "hint" }, t("inc.temp_password.once")) : null,
	    h("p", null, h("a", { href: href(`accounts/incidents/${r.id}`), class: "button primary" }, t("inc.goto"))));
}

function incidentsTable(items: Incident[]): HTMLElement {
	return items.length === 0 ? h("p", { class: "muted empty" }, t("inc.none")) :
		h("div", { class: "table-wrap" }, h("table", { class: "list", id: "incidents-table" },
		    h("thead", null, h("tr", null,
			h("th", { scope: "col" }, "#"),
			h("th", { scope: "col" }, t("acc.login")),
			h("th", { scope: "col" }, t("inc.status")),
			h("th", { scope: "col" }, t("inc.opened_at")),
			h("th", { scope: "col" }, t("inc.steps_done")))),
		    h("tbody", null, items.map((i) => h("tr", { "data-id": String(i.id), "data-login": i.login },
			h("td", null, h("a", { href: href(`accounts/incidents/${i.id}`),
			    "aria-label": t("inc.openit", { id: i.id, login: i.login }) }, `#${i.id}`)),
			h("td", { class: "addr" }, i.login),
			h("td", null, h("span", { class: `badge inc-${i.status}` }, label("inc.status", i.status))),
			h("td", { class: "nowrap" }, `${dateTime(i.opened)} — ${i.opened_by}`),
			h("td", null, `${i.steps_done} / 4`))))));
}

function incidentsCard(ctx: Ctx, r: Items<Incident> | Error): HTMLElement {
	const status = h("div", { class: "status-line" });
	const login = h("input", { name: "login", required: true, autocomplete: "off" });
	const form: HTMLFormElement = h("form", { class: "incident-form inline-form", onsubmit: (ev: Event) => ev.preventDefault() },
	    field(t("acc.login"), login, t("inc.open.hint")),
	    h("div", { class: "form-end" }));
	const ask = confirmButton(t("inc.open"), t("inc.open.confirm"), async () => {
		const who = login.value.trim();
		if (!who) {
			status.replaceChildren(notice("error", t("acc.lock.need")));
			return;
		}
		let opened: IncidentOpened | null = null;
		await runAction(form, status, async () => {
			opened = await api<IncidentOpened>("POST", "/incidents", { login: who });
		}, t("inc.opened", { id: "", login: who }));
		if (opened) {
			status.replaceChildren(openedView(opened));
			// the list again, in place: a redraw would lose the password
			api<Items<Incident>>("GET", "/incidents").then((l) =>
			    list.replaceChildren(incidentsTable(l.items ?? [])), () => undefined);
			// step 2 locked the login: the locks too
			settle(api<Items<Lock>>("GET", "/accounts/locks")).then((l) =>
			    document.getElementById("locks")?.replaceWith(locksCard(ctx, l)));
		}
	});
	ask.dataset.act = "open-incident";
	form.querySelector(".form-end")!.appendChild(ask);
	const list = h("div", { class: "incident-list" },
	    r instanceof Error ? failed(r) : incidentsTable(r.items ?? []));
	return card("incidents", t("inc.title"), form, status, list);
}

export async function accountsPage(ctx: Ctx): Promise<Node> {
	const p = ctx.route.params;
	const admin = ctx.user.role === "admin";
	const allAlerts = p.get("alerts") === "all";
	const [alerts, locks, logins, incidents] = await Promise.all([
		settle(api<Items<Alert>>("GET", `/accounts/alerts${query({ all: allAlerts ? 1 : 0, limit: 100 })}`)),
		settle(api<Items<Lock>>("GET", "/accounts/locks")),
		settle(api<Items<Login>>("GET", `/accounts/logins${query({ login: admin ? p.get("login") : "",
		    result: admin ? p.get("result") : "", limit: 100 })}`)),
		admin ? settle(api<Items<Incident>>("GET", "/incidents")) : Promise.resolve(null),
	]);
	return h("div", { class: "accounts" },
	    pageTitle(t("acc.title")),
	    h("p", { class: "muted" }, t(admin ? "acc.intro" : "acc.intro.user")),
	    alertsCard(ctx, alerts, allAlerts),
	    incidents ? incidentsCard(ctx, incidents) : null,
	    locksCard(ctx, locks),
	    loginsCard(ctx, logins));
}

// ---- one incident ----

type Refresh = (msg: string) => Promise<void>;

function stepRow(inc: IncidentDetail, s: IncidentDetail["steps"][number], status: HTMLElement,
    refresh: Refresh): HTMLElement {
	const open = inc.status === "open";
	const done = h("input", { type: "checkbox", name: `done-${s.step}`, checked: s.done, disabled: !open });
	const note = h("textarea", { name: `note-${s.step}`, rows: 2, disabled: !open }, s.note ?? "");
	const row: HTMLElement = h("li", { class: `step ${s.done ? "done" : ""}`, "data-step": String(s.step) },
	    h("div", { class: "step-head" },
		h("span", { class: "step-no", "aria-hidden": "true" }, String(s.step)),
		h("div", null,
		    h("h3", null, label("inc.step", s.name)),
		    h("p", { class: "muted" }, label("inc.step.desc", s.name)))),
	    h("div", { class: "step-body" },
		h("label", { class: "check" }, done, ` ${t("inc.done")}`),
		s.done && s.done_at ? h("span", { class: "muted" }, ` ${dateTime(s.done_at)} — ${s.actor}`) : null,
		field(t("inc.note"), note),
		open ? h("button", { type: "button", "data-act": "save-step", onclick: () =>
		    runAction(row, status, () => api("POST", `/incidents/${inc.id}/steps/${s.step}`,
			{ done: done.checked, note: note.value.trim() }),
			t("inc.step.saved", { n: s.step }), () => refresh(t("inc.step.saved", { n: s.step }))) },
		    t("inc.save")) : null));
	return row;
}

function detailText(d: IncidentDetail["timeline"][number]["detail"]): Node | string {
	if (typeof d === "string")
		return d ? h("span", { class: "detail-text" }, `: ${d}`) : "";
	if (!d || Object.keys(d).length === 0)
		return "";
	return h("details", null, h("summary", null, t("inc.detail")),
	    h("pre", { class: "json" }, JSON.stringify(d, null, 2)));
}

// reportText: the incident as plain text in the console's language, to
// print or to save.
export function reportText(inc: IncidentDetail): string {
	const lines = [
		t("inc.report.title", { id: inc.id }),
		"",
		`${t("acc.login")}: ${inc.login}`,
		`${t("inc.status")}: ${label("inc.status", inc.status)}`,
		`${t("inc.opened_at")}: ${dateTime(inc.opened)} (${inc.opened_by})`,
	];
	if (inc.closed)
		lines.push(`${t("inc.closed_at")}: ${dateTime(inc.closed)} (${inc.closed_by})`);
	lines.push("", t("inc.steps"));
	for (const s of inc.steps ?? []) {
		lines.push(`  ${s.step}. ${label("inc.step", s.name)}: ${s.done ? t("inc.done") : t("inc.notdone")}` +
		    (s.done && s.done_at ? ` (${dateTime(s.done_at)}, ${s.actor})` : ""));
		if (s.note)
			lines.push(`     ${t("inc.note")}: ${s.note}`);
	}
	lines.push("", t("inc.timeline"));
	for (const e of inc.timeline ?? [])
		lines.push(`  ${dateTime(e.time)}  [${e.step}] ${e.actor}: ${e.what}`);
	return lines.join("\n") + "\n";
}

function reportCard(inc: IncidentDetail): HTMLElement {
	const text = reportText(inc);
	const url = URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" }));
	return h("section", { class: "card report", id: "report", "aria-label": t("inc.report") },
	    h("h2", null, t("inc.report")),
	    h("div", { class: "actions no-print" },
		h("button", { type: "button", onclick: () => window.print() }, t("inc.print")),
		h("a", { class: "button", href: url, download: `incident-${inc.id}.txt` }, t("inc.download"))),
	    h("pre", { class: "report-text" }, text));
}

// incidentPage: after an action the page is drawn again in place from the
// server's answer (no navigation, so nothing races with the next click).
export async function incidentPage(ctx: Ctx): Promise<Node> {
	const id = ctx.route.path[2];
	const showReport = ctx.route.path[3] === "report";
	let inc: IncidentDetail;
	try {
		inc = await api<IncidentDetail>("GET", `/incidents/${encodeURIComponent(id)}`);
	} catch (e) {
		return h("div", null, backLink("accounts"), notice("error", errorText(e)));
	}
	let root: HTMLElement;
	const refresh: Refresh = async (msg) => {
		try {
			const fresh = await api<IncidentDetail>("GET", `/incidents/${encodeURIComponent(id)}`);
			const next = incidentView(fresh, showReport, refresh);
			next.querySelector(".status-line")?.replaceChildren(notice("ok", msg));
			root.replaceWith(next);
			root = next;
		} catch (e) {
			root.querySelector(".status-line")?.replaceChildren(notice("error", errorText(e)));
		}
	};
	root = incidentView(inc, showReport, refresh);
	return root;
}

function incidentView(inc: IncidentDetail, showReport: boolean, refresh: Refresh): HTMLElement {
	const status = h("div", { class: "status-line" });
	const head = h("div", { class: "actions" });
	if (inc.status === "open") {
		const c = confirmButton(t("inc.close"), t("inc.close.confirm"), () =>
		    runAction(head, status, () => api("POST", `/incidents/${inc.id}/close`), t("inc.closed"),
			() => refresh(t("inc.closed"))));
		c.dataset.act = "close";
		head.appendChild(c);
	}
	head.appendChild(h("a", { class: "button", "data-act": "report",
	    href: href(`accounts/incidents/${inc.id}/report`) }, t("inc.report")));
	return h("div", { class: "detail incident" },
	    backLink("accounts"),
	    pageTitle(t("inc.heading", { id: inc.id, login: inc.login })),
	    h("dl", { class: "meta" },
		h("dt", null, t("inc.status")), h("dd", null, h("span", { class: `badge inc-${inc.status}`, "data-status": inc.status },
		    label("inc.status", inc.status))),
		h("dt", null, t("inc.opened_at")), h("dd", null, `${dateTime(inc.opened)} — ${inc.opened_by}`),
		inc.closed ? [h("dt", null, t("inc.closed_at")), h("dd", null, `${dateTime(inc.closed)} — ${inc.closed_by}`)] : null,
		h("dt", null, t("inc.steps_done")), h("dd", null, `${inc.steps_done} / 4`)),
	    head, status,
	    showReport ? reportCard(inc) : null,
	    h("section", { class: "card", "aria-label": t("inc.steps") },
		h("h2", null, t("inc.steps")),
		h("ol", { class: "steps" }, (inc.steps ?? []).map((s) => stepRow(inc, s, status, refresh)))),
	    h("section", { class: "card", "aria-label": t("inc.timeline") },
		h("h2", null, t("inc.timeline")),
		h("ol", { class: "timeline", id: "incident-timeline" }, (inc.timeline ?? []).map((e) =>
		    h("li", null,
			dateTime(e.time) ? [h("time", { datetime: e.time }, dateTime(e.time)), " "] : null,
			e.step ? h("span", { class: "badge" }, label("inc.step", STEPS[e.step - 1] ?? String(e.step))) : null, " ",
			h("strong", null, e.what), h("span", { class: "muted" }, ` — ${e.actor}`),
			detailText(e.detail))))));
}
