// console.test.mjs - the sekisho console in Debian's Chromium against a
// real sekishod, prepared by tests/integration/test_e2e.sh (which passes
// E2E_URL, E2E_USERS, E2E_SINK, E2E_ARTIFACTS).  The tests run in order and
// share the browser: no session -> 401; sign-in with TOTP; the dashboard
// (screenshot); quarantine list, filters and safe preview; language switch
// ja <-> en; the role matrix (user, approver, admin); CSRF; release into
// the sink; the message log; sign-out.
//
// A test whose endpoint the server does not have (404) skips itself with
// the reason instead of failing, so the suite can run before every part of
// the API has landed.

import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { findInDir, launch, newPage, pageFetch, signIn, waitUntil, wrongCode } from "./lib.mjs";

const URL_ = process.env.E2E_URL;
const USERS = process.env.E2E_USERS ? JSON.parse(fs.readFileSync(process.env.E2E_USERS, "utf8")) : {};
const SINK = process.env.E2E_SINK;
const ART = process.env.E2E_ARTIFACTS || path.join(import.meta.dirname ?? ".", "artifacts");

const ALICE_SUBJ = "E2E invoice for alice";
const BOB_SUBJ = "E2E invoice for bob";

// endpoint probes: GET without a session must be 401 where the API has it
async function missing(p) {
	const r = await fetch(`${URL_}/api/v1${p}`);
	return r.status === 404 ? `the server has no ${p} yet (404)` : null;
}

async function skipUnless(t, ...paths) {
	for (const p of paths) {
		const why = await missing(p);
		if (why) {
			t.skip(why);
			return true;
		}
	}
	return false;
}

const rowsText = (page) => page.locator("#quarantine-list tbody").innerText().catch(() => "");

describe("sekisho console", { skip: URL_ ? false : "run through tests/integration/test_e2e.sh (E2E_URL unset)" }, () => {
	let browser;
	const pages = {};
	let aliceId = null;
	let bobId = null;

	before(async () => {
		browser = await launch();
	});
	after(async () => {
		await browser?.close();
	});

	it("answers 401 to the API without a session, and shows the sign-in page", async () => {
		for (const p of ["/me", "/quarantine", "/messages", "/stats", "/config", "/users"]) {
			const r = await fetch(`${URL_}/api/v1${p}`);
			assert.equal(r.status, 401, `GET /api/v1${p} without a session`);
			assert.match(r.headers.get("content-type") ?? "", /json/);
			const j = await r.json();
			assert.equal(typeof j.error, "string");
		}
		const page = await newPage(browser, "en-US");
		await page.goto(URL_);
		await page.locator("input[name=totp]").waitFor();
		assert.equal(await page.locator("h1").innerText(), "Sign in");
		await page.context().close();
	});

	it("shows Japanese by default when the browser prefers it", async () => {
		const page = await newPage(browser, "ja-JP");
		await page.goto(URL_);
		await page.locator("input[name=totp]").waitFor();
		assert.equal(await page.locator("h1").innerText(), "ログイン");
		assert.equal(await page.getAttribute("html", "lang"), "ja");
		assert.equal(await page.locator("label[for]").first().innerText(), "ユーザー名");
		await page.context().close();
	});

	it("refuses a wrong TOTP code and asks for the code", async () => {
		const page = await newPage(browser, "en-US");
		await page.goto(URL_);
		await page.locator("input[name=username]").fill("admin");
		await page.locator("input[name=password]").fill(USERS.admin.password);
		await page.locator("input[name=totp]").fill(wrongCode(USERS.admin.secret));
		await page.locator("form.login-form button[type=submit]").click();
		const alert = page.locator(".login-status [role=alert]");
		await alert.waitFor();
		assert.match(await alert.innerText(), /authenticator/);
		assert.equal(await page.locator("nav.side").count(), 0);
		const me = await pageFetch(page, "GET", "/api/v1/me");
		assert.equal(me.status, 401);
		await page.context().close();
	});

	it("signs the admin in with a TOTP code and shows the dashboard", async (t) => {
		const page = pages.admin = await newPage(browser, "en-US");
		await signIn(page, URL_, "admin", USERS.admin);
		const me = await pageFetch(page, "GET", "/api/v1/me");
		assert.equal(me.status, 200);
		assert.equal(me.body.role, "admin");
		const nav = await page.locator("nav.side a").allInnerTexts();
		for (const n of ["Dashboard", "Quarantine", "Message log", "Settings", "Users"])
			assert.ok(nav.includes(n), `admin navigation has ${n}: ${nav}`);
		// later APIs: their entries appear only when the server answers
		const probes = { holds: "/holds?limit=1", approvals: "/approvals?limit=1", accounts: "/accounts/logins?limit=1" };
		for (const [f, p] of Object.entries(probes)) {
			const there = (await pageFetch(page, "GET", `/api/v1${p}`)).status === 200;
			if (there)
				await page.locator(`nav.side a[data-nav=${f}]`).waitFor();
			else
				assert.equal(await page.locator(`nav.side a[data-nav=${f}]`).count(), 0, `no ${f} entry`);
		}
		if (await skipUnless(t, "/stats"))
			return;
		await page.locator(".dashboard [data-total=quarantined]").waitFor();
		const num = async (k) => Number((await page.locator(`[data-total=${k}]`).innerText()).replace(/[^\d]/g, ""));
		assert.ok(await num("received") >= 3, "the dashboard counts the 3 received mails");
		assert.ok(await num("quarantined") >= 2, "the dashboard counts the 2 quarantined mails");
		assert.ok(await page.locator("figure.chart svg rect.bar").count() > 0, "bars in mail by action per hour");
		const swatch = await page.locator(".legend .swatch").first().evaluate((e) => getComputedStyle(e).backgroundColor);
		assert.notEqual(swatch, "rgba(0, 0, 0, 0)", "legend colours apply under the server's CSP");
		assert.ok(await page.locator("figure.chart circle.dot").count() > 0, "the failed login is on the login chart");
		const targets = await page.locator(".hbars").allInnerTexts();
		assert.ok(targets.some((x) => x.includes("alice@sekisho.test")), `most-targeted users: ${targets}`);
		fs.mkdirSync(ART, { recursive: true });
		const shot = path.join(ART, "dashboard.png");
		await page.screenshot({ path: shot, fullPage: true });
		console.log(`# dashboard screenshot: ${shot}`);
		// the period: every hour of the last 7 days, one row each
		assert.equal(await page.locator("figure.chart").first().locator(".sr-only tbody tr").count(), 24);
		await page.getByLabel("Period").selectOption("168");
		await waitUntil(() => /hours=168/.test(page.url()), 5000, "the period in the URL");
		await waitUntil(async () => (await page.locator("figure.chart").first().locator(".sr-only tbody tr").count()) === 168,
		    10000, "168 hourly rows");
		assert.deepEqual(page.errors, []);
	});

	it("lists both quarantined mails for the admin and filters by recipient", async (t) => {
		if (await skipUnless(t, "/quarantine"))
			return;
		const page = pages.admin;
		await page.locator("nav.side a[data-nav=quarantine]").click();
		await page.locator("#quarantine-list").waitFor();
		const text = await rowsText(page);
		assert.ok(text.includes(ALICE_SUBJ) && text.includes(BOB_SUBJ), `admin sees both: ${text}`);
		aliceId = await page.locator("#quarantine-list tr", { hasText: ALICE_SUBJ }).getAttribute("data-id");
		bobId = await page.locator("#quarantine-list tr", { hasText: BOB_SUBJ }).getAttribute("data-id");
		assert.ok(aliceId && bobId && aliceId !== bobId);

		// the filter form: recipient bob only
		await page.locator("details.filter-box summary").click();
		await page.getByLabel("Recipient").fill("bob@sekisho.test");
		await page.locator("form.filters button[type=submit]").click();
		await waitUntil(async () => !(await rowsText(page)).includes(ALICE_SUBJ), 10000, "the filtered list");
		assert.ok((await rowsText(page)).includes(BOB_SUBJ));
		assert.match(page.url(), /rcpt=bob%40sekisho\.test/);
	});

	it("opens a quarantined mail with symbols and a safe preview", async (t) => {
		if (!aliceId)
			return t.skip("no quarantine list");
		const page = pages.admin;
		await page.goto(`${URL_}/#/quarantine/${encodeURIComponent(aliceId)}`);
		await page.locator("table.symbols").waitFor();
		assert.equal(await page.locator("h1").innerText(), ALICE_SUBJ);
		const sym = page.locator("table.symbols tr[data-symbol=HDR_MISSING_DATE] td");
		assert.equal(await sym.count(), 3, "HDR_MISSING_DATE with name, score, reason");
		assert.match(await sym.nth(1).innerText(), /^-?\d+\.\d$/);
		assert.ok((await sym.nth(2).innerText()).trim().length > 0, "a reason is shown");

		// HTML: sanitized by the server, shown in a sandboxed iframe
		const frame = page.locator("iframe.preview-frame");
		await frame.waitFor();
		assert.equal(await frame.getAttribute("sandbox"), "");
		const srcdoc = await frame.getAttribute("srcdoc");
		assert.match(srcdoc, /Invoice/);
		assert.doesNotMatch(srcdoc, /<script/i, "no script in the preview");
		assert.doesNotMatch(srcdoc, /<form/i, "no form in the preview");
		assert.doesNotMatch(srcdoc, /src=["']?https?:/i, "no remote load in the preview");
		const inner = await page.frameLocator("iframe.preview-frame").locator("body").innerText();
		assert.match(inner, /Invoice html part/);
		assert.notEqual(await page.title(), "pwned");

		// text and headers tabs
		await page.locator("button[data-tab=text]").click();
		assert.match(await page.locator("pre.preview-text").innerText(), /お支払いのお願い/);
		await page.locator("button[data-tab=headers]").press("ArrowRight");
		await page.locator("button[data-tab=headers]").click();
		assert.match(await page.locator("table.headers").innerText(), /alice-q1@e2e\.test/);
		await page.locator("button[data-tab=html]").click();
		await page.frameLocator("iframe.preview-frame").locator("body").waitFor();
		await page.screenshot({ path: path.join(ART, "quarantine-detail.png") });
		assert.deepEqual(page.errors, []);
	});

	it("switches the language ja <-> en, saved on the server and in the browser", async (t) => {
		const page = pages.admin;
		await page.goto(`${URL_}/#/quarantine`);
		const navQ = page.locator("nav.side a[data-nav=quarantine]");
		assert.equal(await navQ.innerText(), "Quarantine");
		await page.locator(".lang-switch button[lang=ja]").click();
		await waitUntil(async () => (await navQ.innerText()) === "隔離メール", 5000, "Japanese navigation");
		assert.equal(await page.locator("h1").innerText(), "隔離メール");
		assert.equal(await page.getAttribute("html", "lang"), "ja");
		assert.equal(await page.evaluate(() => localStorage.getItem("sekisho.lang")), "ja");
		const me = await waitUntil(async () => {
			const r = await pageFetch(page, "GET", "/api/v1/me");
			return r.body?.lang === "ja" ? r : null;
		}, 5000, "PUT /me to save the language");
		assert.equal(me.body.lang, "ja");
		await page.reload();
		await navQ.waitFor();
		assert.equal(await navQ.innerText(), "隔離メール", "Japanese after a reload");
		await page.locator(".lang-switch button[lang=en]").click();
		await waitUntil(async () => (await navQ.innerText()) === "Quarantine", 5000, "English navigation");
		await waitUntil(async () => (await pageFetch(page, "GET", "/api/v1/me")).body?.lang === "en",
		    5000, "English saved");
		void t;
	});

	it("signs a user in by keyboard and shows only their own mail, and no settings", async (t) => {
		const page = pages.bob = await newPage(browser, "en-US");
		await signIn(page, URL_, "bob", USERS.bob, { keyboard: true });
		// bob's saved language is Japanese: it wins over the browser's
		const navQ = page.locator("nav.side a[data-nav=quarantine]");
		assert.equal(await navQ.innerText(), "隔離メール");
		assert.equal(await page.locator("nav.side a[data-nav=settings]").count(), 0);
		assert.equal(await page.locator("nav.side a[data-nav=users]").count(), 0);
		assert.equal((await pageFetch(page, "GET", "/api/v1/config")).status, 403);
		assert.equal((await pageFetch(page, "GET", "/api/v1/users")).status, 403);
		if (await skipUnless(t, "/quarantine"))
			return;
		await navQ.click();
		await page.locator("#quarantine-list").waitFor();
		const text = await rowsText(page);
		assert.ok(text.includes(BOB_SUBJ), `bob sees his mail: ${text}`);
		assert.ok(!text.includes(ALICE_SUBJ), "bob does not see alice's mail");
		await page.screenshot({ path: path.join(ART, "quarantine-user-ja.png"), fullPage: true });
		const other = await pageFetch(page, "GET", `/api/v1/quarantine/${encodeURIComponent(aliceId)}`);
		assert.ok(other.status === 403 || other.status === 404, `bob opening alice's mail: ${other.status}`);
		const rel = await pageFetch(page, "POST", `/api/v1/quarantine/${encodeURIComponent(aliceId)}/release`,
		    { "X-CSRF-Token": (await pageFetch(page, "GET", "/api/v1/me")).body.csrf });
		assert.ok(rel.status === 403 || rel.status === 404, `bob releasing alice's mail: ${rel.status}`);
		await page.goto(`${URL_}/#/settings`);
		await page.locator("main [role=alert]").waitFor();
		assert.equal(await page.locator("table#config").count(), 0);
		assert.deepEqual(page.errors, []);
	});

	it("gives an approver all quarantined mail but no settings, and refuses a request without CSRF", async (t) => {
		const page = pages.approver = await newPage(browser, "en-US");
		await signIn(page, URL_, "approver", USERS.approver);
		assert.equal(await page.locator("nav.side a[data-nav=settings]").count(), 0);
		assert.equal(await page.locator("nav.side a[data-nav=users]").count(), 0);
		const cfg = await pageFetch(page, "GET", "/api/v1/config");
		assert.equal(cfg.status, 403, "GET /api/v1/config as approver");
		if (await skipUnless(t, "/quarantine"))
			return;
		await page.locator("nav.side a[data-nav=quarantine]").click();
		await page.locator("#quarantine-list").waitFor();
		const text = await rowsText(page);
		assert.ok(text.includes(ALICE_SUBJ) && text.includes(BOB_SUBJ), `approver sees both: ${text}`);
		const noCsrf = await pageFetch(page, "POST", `/api/v1/quarantine/${encodeURIComponent(bobId)}/release`);
		assert.equal(noCsrf.status, 403, "a POST without X-CSRF-Token");
		const wrongCsrf = await pageFetch(page, "POST", `/api/v1/quarantine/${encodeURIComponent(bobId)}/release`,
		    { "X-CSRF-Token": "not-the-token" });
		assert.equal(wrongCsrf.status, 403, "a POST with a wrong X-CSRF-Token");
		await page.goto(`${URL_}/#/quarantine/${encodeURIComponent(bobId)}`);
		await page.locator("button[data-act=release]").waitFor();
		assert.equal(await page.locator("h1").innerText(), BOB_SUBJ);
		assert.deepEqual(page.errors, []);
	});

	it("shows the admin the settings read-only", async (t) => {
		if (await skipUnless(t, "/config"))
			return;
		const page = pages.admin;
		await page.locator("nav.side a[data-nav=settings]").click();
		await page.locator("table#config").waitFor();
		assert.match(await page.locator("table#config tr[data-name=console_listen]").innerText(), /127\.0\.0\.1:\d+/);
		assert.equal(await page.locator("table#config input").count(), 0, "read-only");
		await page.screenshot({ path: path.join(ART, "settings.png") });
	});

	it("releases a quarantined mail and it arrives in the sink", async (t) => {
		if (!aliceId)
			return t.skip("no quarantine list");
		assert.equal(findInDir(SINK, "alice-q1@e2e.test"), null, "not delivered before release");
		const page = pages.admin;
		await page.goto(`${URL_}/#/quarantine/${encodeURIComponent(aliceId)}`);
		await page.locator("button[data-act=release]").click();
		const st = page.locator(".status-line [role=status]");
		await st.waitFor();
		assert.match(await st.innerText(), /Released/);
		const f = await waitUntil(() => findInDir(SINK, "alice-q1@e2e.test"), 30000, "the released mail in the sink");
		assert.match(fs.readFileSync(f, "utf8"), /E2E invoice for alice/);
		console.log(`# released mail delivered: ${f}`);
	});

	it("learns a quarantined mail as spam, then deletes it", async (t) => {
		if (!bobId)
			return t.skip("no quarantine list");
		const page = pages.admin;
		await page.goto(`${URL_}/#/quarantine/${encodeURIComponent(bobId)}`);
		await page.locator("button[data-act=spam]").click();
		const st = page.locator(".status-line [role=status]");
		await st.waitFor();
		assert.match(await st.innerText(), /Learned as spam/);
		// delete asks first, inline
		await page.locator(".actions .confirm button.danger").click();
		await page.locator(".actions .confirm [role=alert]").waitFor();
		await page.locator(".actions .confirm button.danger").click();
		await waitUntil(async () => /deleted/.test(await st.innerText().catch(() => "")), 10000, "the delete notice");
		const gone = await pageFetch(page, "GET", `/api/v1/quarantine/${encodeURIComponent(bobId)}`);
		assert.equal(gone.status, 404, "a deleted message is gone");
		const list = await pageFetch(page, "GET", "/api/v1/quarantine");
		assert.ok(!list.body.items.some((i) => i.id === bobId), "not in the list");
		assert.equal(findInDir(SINK, "bob-q1@e2e.test"), null, "a deleted message is not delivered");
	});

	it("finds mail in the message log by subject and action", async (t) => {
		if (await skipUnless(t, "/messages"))
			return;
		const page = pages.admin;
		await page.goto(`${URL_}/#/messages?subject=${encodeURIComponent("E2E ordinary")}&action=deliver`);
		await page.locator("#message-log").waitFor();
		const text = await page.locator("#message-log tbody").innerText();
		assert.match(text, /E2E ordinary mail/);
		assert.doesNotMatch(text, /E2E invoice/);
	});

	it("lists users for the admin", async (t) => {
		if (await skipUnless(t, "/users"))
			return;
		const page = pages.admin;
		await page.goto(`${URL_}/#/users`);
		await page.locator("table#users").waitFor();
		const text = await page.locator("table#users tbody").innerText();
		for (const n of ["admin", "approver", "alice", "bob"])
			assert.match(text, new RegExp(`\\b${n}\\b`));
		// add one: the TOTP secret is shown once; then delete it
		await page.getByLabel("User name", { exact: true }).fill("carol");
		await page.getByLabel("Initial password").fill("e2e-carol-Passw0rd!");
		await page.locator("form.add-user select[name=role]").selectOption("user");
		await page.getByLabel("Email").fill("carol@sekisho.test");
		await page.locator("form.add-user button[type=submit]").click();
		const secret = page.locator(".status-line dl.secret code").first();
		await secret.waitFor();
		assert.match(await secret.innerText(), /^[A-Z2-7]{16,}=*$/);
		await page.locator("table#users tr[data-user=carol]").waitFor();
		const row = page.locator("table#users tr[data-user=carol]");
		await row.locator("button.danger").click();
		await row.locator("button.danger").click();
		await page.locator("table#users tr[data-user=carol]").waitFor({ state: "detached" });
		const users = await pageFetch(page, "GET", "/api/v1/users");
		assert.ok(!users.body.items.some((u) => u.name === "carol"), "carol deleted on the server");
	});

	it("signs out: the session is gone", async () => {
		const page = pages.admin;
		await page.locator("header.top button.link").click();
		await page.locator("input[name=totp]").waitFor();
		assert.equal((await pageFetch(page, "GET", "/api/v1/me")).status, 401);
		assert.equal((await pageFetch(page, "GET", "/api/v1/quarantine")).status, 401);
	});
});
