// main.ts - the console's entry point: sign-in, the page frame (header with
// language switch and sign-out, role-aware navigation) and hash routing.
//
// Navigation by role: everyone sees the dashboard, quarantine and message
// log (the server limits a `user` to their own mail); only `admin` sees
// settings and users; approvals are for approvers and admins.  Held mail,
// approvals and account security appear only when the server answers for
// them (they are probed once after sign-in).

import "./style.css";
import { api, ApiError, onUnauthorized, setCsrf, type User } from "./api";
import { type Ctx, errorText, notice, type Page, parseHash } from "./app";
import { clear, field, h, s } from "./dom";
import { initLang, isLang, lang, LANGS, setLang, t, type Key } from "./i18n";
import { dashboardPage } from "./pages/dashboard";
import { quarantineDetailPage, quarantinePage } from "./pages/quarantine";
import { messagesPage } from "./pages/messages";
import { settingsPage } from "./pages/settings";
import { usersPage } from "./pages/users";
import { holdDetailPage, holdsPage } from "./pages/holds";
import { approvalDetailPage, approvalsPage } from "./pages/approvals";
import { accountsPage, incidentPage } from "./pages/accounts";

interface NavEntry {
	path: string;
	key: Key;
	roles?: User["role"][];
	feature?: string;
}

const NAV: NavEntry[] = [
	{ path: "dashboard", key: "nav.dashboard" },
	{ path: "quarantine", key: "nav.quarantine" },
	{ path: "messages", key: "nav.messages" },
	{ path: "holds", key: "nav.holds", feature: "holds" },
	{ path: "approvals", key: "nav.approvals", feature: "approvals", roles: ["admin", "approver"] },
	{ path: "accounts", key: "nav.accounts", feature: "accounts" },
	{ path: "settings", key: "nav.settings", roles: ["admin"] },
	{ path: "users", key: "nav.users", roles: ["admin"] },
];

const root = document.getElementById("app") as HTMLElement;
let user: User | null = null;
const features = new Set<string>();
let renderSeq = 0;

function allowed(e: NavEntry, u: User): boolean {
	if (e.roles && !e.roles.includes(u.role))
		return false;
	if (e.feature && !features.has(e.feature))
		return false;
	return true;
}

function langSwitch(): HTMLElement {
	return h("div", { class: "lang-switch", role: "group", "aria-label": t("lang.label") },
	    LANGS.map((l) => h("button", {
		type: "button",
		lang: l,
		"aria-pressed": String(lang() === l),
		onclick: () => changeLang(l),
	    }, t(`lang.${l}` as Key))));
}

async function changeLang(l: "ja" | "en"): Promise<void> {
	if (l === lang())
		return;
	setLang(l);
	if (user) {
		user.lang = l;
		try {
			await api("PUT", "/me", { lang: l });
		} catch {
			/* kept locally; the server copy is updated on the next change */
		}
	}
	render();
}

// brand: the product mark (a gate, drawn in SVG: no font needed) and name.
function brand(): HTMLElement {
	return h("div", { class: "brand" },
	    h("span", { class: "brand-mark", "aria-hidden": "true" },
		s("svg", { viewBox: "0 0 24 24", width: 18, height: 18 },
		    s("path", { d: "M3 6h18M5 10h14M7 6v14M17 6v14", stroke: "currentColor", "stroke-width": 2.2,
			"stroke-linecap": "round", fill: "none" }))),
	    h("span", null, t("app.name")));
}

// ---- sign-in ----

function loginView(message?: { kind: "ok" | "error"; text: string }): HTMLElement {
	const username = h("input", { name: "username", autocomplete: "username", required: true });
	const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
	const totp = h("input", { name: "totp", inputmode: "numeric", autocomplete: "one-time-code",
	    pattern: "[0-9]{6}", maxlength: "6" });
	const status = h("div", { class: "login-status" }, message ? notice(message.kind, message.text) : null);
	const submit = h("button", { type: "submit", class: "primary" }, t("login.submit"));
	const form = h("form", { class: "login-form", novalidate: true, onsubmit: async (ev: Event) => {
		ev.preventDefault();
		submit.disabled = true;
		clear(status);
		try {
			const r = await api<{ user: User; csrf: string }>("POST", "/login",
			    { username: username.value.trim(), password: password.value, totp: totp.value.trim() });
			setCsrf(r.csrf);
			await signedIn(r.user);
		} catch (e) {
			let msg = t("login.failed");
			if (e instanceof ApiError && e.body.need_totp) {
				msg = t("login.need_totp");
				totp.value = "";
				totp.focus();
			} else if (e instanceof ApiError && e.status === 429) {
				msg = t("login.locked");
			} else if (!(e instanceof ApiError) || e.status !== 401) {
				msg = errorText(e);
			}
			status.appendChild(notice("error", msg));
		} finally {
			submit.disabled = false;
		}
	} },
	    field(t("login.username"), username),
	    field(t("login.password"), password),
	    field(t("login.totp"), totp, t("login.totp.hint")),
	    status, submit);
	const view = h("div", { class: "login-page" },
	    h("header", { class: "login-head" }, brand(), langSwitch()),
	    h("main", { class: "login-card", id: "main" },
		h("h1", null, t("login.title")),
		h("p", { class: "muted" }, t("app.tagline")),
		form));
	queueMicrotask(() => username.focus());
	return view;
}

function showLogin(message?: { kind: "ok" | "error"; text: string }): void {
	user = null;
	renderSeq++;	/* a page still loading must not draw over the form */
	features.clear();
	clear(root);
	root.appendChild(loginView(message));
	document.title = `${t("login.title")} - sekisho`;
}

async function signedIn(u: User): Promise<void> {
	user = u;
	if (isLang(u.lang) && u.lang !== lang())
		setLang(u.lang);
	else if (!isLang(u.lang))
		api("PUT", "/me", { lang: lang() }).catch(() => undefined);
	render();
	probeFeatures();
}

// Held mail, approvals and account security: their entries show once the
// server answers for them (a server without them answers 404).
const PROBES: Record<string, string> = {
	holds: "/holds?limit=1",
	approvals: "/approvals?limit=1",
	accounts: "/accounts/logins?limit=1",
};

function probeFeatures(): void {
	for (const [f, path] of Object.entries(PROBES)) {
		api("GET", path).then(() => {
			features.add(f);
			refreshNav();
		}, () => undefined);
	}
}

// ---- frame and routing ----

function navView(u: User, current: string): HTMLElement {
	return h("nav", { class: "side", "aria-label": t("nav.label") },
	    h("ul", null, NAV.filter((e) => allowed(e, u)).map((e) =>
		h("li", null, h("a", { href: `#/${e.path}`, "data-nav": e.path,
		    "aria-current": e.path === current ? "page" : false }, t(e.key))))));
}

// refreshNav: redraw only the navigation (a feature appeared), keeping the page.
function refreshNav(): void {
	const old = root.querySelector("nav.side");
	if (user && old)
		old.replaceWith(navView(user, parseHash(location.hash).path[0] ?? "dashboard"));
}

function frame(u: User, current: string, content: HTMLElement): HTMLElement {
	const nav = navView(u, current);
	return h("div", { class: "shell" },
	    h("a", { href: "#main", class: "skip" , onclick: (ev: Event) => {
		ev.preventDefault();
		(document.getElementById("main") as HTMLElement | null)?.focus();
	    } }, t("common.skip")),
	    h("header", { class: "top" },
		brand(),
		h("div", { class: "top-right" },
		    langSwitch(),
		    h("span", { class: "whoami" }, t("header.user", { name: u.name, role: t(`role.${u.role}` as Key) })),
		    h("button", { type: "button", class: "link", onclick: logout }, t("header.logout")))),
	    nav,
	    h("main", { id: "main", tabindex: "-1" }, content));
}

function pageFor(path: string[], u: User): Page | null {
	const [first = "dashboard", second] = path;
	const entry = NAV.find((e) => e.path === first);
	if (!entry || !allowed(entry, u))
		return null;
	switch (first) {
	case "dashboard": return dashboardPage;
	case "quarantine": return second ? quarantineDetailPage : quarantinePage;
	case "messages": return messagesPage;
	case "settings": return settingsPage;
	case "users": return usersPage;
	case "holds": return second ? holdDetailPage : holdsPage;
	case "approvals": return second ? approvalDetailPage : approvalsPage;
	case "accounts": return second === "incidents" && path[2] ? incidentPage : accountsPage;
	}
	return null;
}

// render: draw the frame for the current hash, then the page into it, and
// move focus to the page heading.
async function render(): Promise<void> {
	if (!user)
		return;
	const seq = ++renderSeq;
	const ctx: Ctx = { user, route: parseHash(location.hash), features };
	const current = ctx.route.path[0] ?? "dashboard";
	const content = h("div", { class: "page" }, h("p", { class: "muted" }, t("common.loading")));
	clear(root);
	root.appendChild(frame(user, current, content));
	const page = pageFor(ctx.route.path, user);
	let node: Node;
	try {
		node = page ? await page(ctx) : notice("error", t("common.notfound"));
	} catch (e) {
		node = notice("error", errorText(e));
	}
	if (seq !== renderSeq)
		return;
	clear(content);
	content.appendChild(node);
	const title = content.querySelector("h1");
	document.title = `${title?.textContent ?? t("app.name")} - sekisho`;
	if (title instanceof HTMLElement)
		title.focus({ preventScroll: true });
}

async function logout(): Promise<void> {
	try {
		await api("POST", "/logout");
	} catch {
		/* the session is gone either way */
	}
	setCsrf("");
	location.hash = "";
	showLogin();
}

async function boot(): Promise<void> {
	initLang();
	onUnauthorized(() => {
		if (user)
			showLogin({ kind: "error", text: t("login.expired") });
	});
	window.addEventListener("hashchange", () => render());
	try {
		const me = await api<User & { csrf: string }>("GET", "/me");
		setCsrf(me.csrf ?? "");
		await signedIn(me);
	} catch (e) {
		if (e instanceof ApiError && e.status === 401)
			showLogin();
		else
			showLogin({ kind: "error", text: errorText(e) });
	}
}

boot();
