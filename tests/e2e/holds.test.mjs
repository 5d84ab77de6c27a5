// holds.test.mjs - held outbound mail, approvals and account security in
// Debian's Chromium against the sekishod of tests/integration/test_e2e.sh
// (outbound listener E2E_OUT_PORT relaying for 127.0.0.1, outbound Maildir
// sink E2E_OUTSINK, a directory where the console user "approver" approves
// for alice and bob, alice's holds 10 minutes, others' 8 s, a file to an
// outside address needing approval).
//
// Mail is sent with swaks through the outbound listener; what leaves is
// counted in the outbound sink by Message-Id.  The tests run in order:
//   - a user sees their own held mail (countdown, kind), not another's,
//     and the API refuses another's hold;
//   - alice cancels one held mail (inline confirm): it never arrives; she
//     sends another now: it arrives once; bob's leaves by itself after
//     its hold time;
//   - the approver sees the request with its risk and symbols and a safe
//     preview, approves with a comment: it arrives exactly once; rejects
//     another: it never arrives; the sender cannot send it herself;
//   - the admin locks and unlocks an account, sees console logins with the
//     IP address, opens an incident, marks a step done, closes it and
//     reads the report; a user sees only their own logins;
//   - the new pages in Japanese and English.
// Screenshots: approvals.png, approval-detail.png, accounts.png,
// incident.png (and holds-user-ja.png) in E2E_ARTIFACTS.
//
// A test whose endpoint the server lacks (404) skips itself with the reason.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { launch, newPage, pageFetch, signIn, sleep, waitUntil } from "./lib.mjs";

const URL_ = process.env.E2E_URL;
const USERS = process.env.E2E_USERS ? JSON.parse(fs.readFileSync(process.env.E2E_USERS, "utf8")) : {};
const OUT_PORT = process.env.E2E_OUT_PORT;
const OUTSINK = process.env.E2E_OUTSINK;
const TMP = process.env.E2E_TMP;
const ART = process.env.E2E_ARTIFACTS || path.join(import.meta.dirname ?? ".", "artifacts");
const PARTNER = "partner@partner.example";

// send: a mail through the outbound listener, Message-Id <id@e2e.test>.
function send(from, id, subject, { attach = null } = {}) {
	const args = ["--server", "127.0.0.1", "--port", OUT_PORT, "--timeout", "20", "--hide-all",
	    "--from", from, "--to", PARTNER, "--header", `Message-Id: <${id}@e2e.test>`,
	    "--header", `Subject: ${subject}`, "--body", `E2E body of ${id}: お見積りを送付します。`];
	if (attach) {
		const f = path.join(TMP, `${id}.pdf`);
		fs.writeFileSync(f, `%PDF-1.4 quote ${id}\n`);
		args.push("--attach-type", "application/pdf", "--attach-name", attach, "--attach", `@${f}`);
	}
	execFileSync("swaks", args, { stdio: "ignore" });
}

// delivered: how many copies of <id@e2e.test> left through the outbound sink.
function delivered(id) {
	const re = new RegExp(`^Message-Id: <${id}@e2e\\.test>`, "mi");
	let n = 0;
	const walk = (d) => {
		let ents = [];
		try {
			ents = fs.readdirSync(d, { withFileTypes: true });
		} catch {
			return;
		}
		for (const e of ents) {
			const p = path.join(d, e.name);
			if (e.isDirectory())
				walk(p);
			else if (e.isFile() && re.test(fs.readFileSync(p, "latin1")))
				n++;
		}
	};
	walk(OUTSINK);
	return n;
}

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

async function csrf(page) {
	return (await pageFetch(page, "GET", "/api/v1/me")).body.csrf;
}

// holdOf: the hold with this subject among what `page`'s user may see.
async function holdOf(page, subject, state = "all") {
	const r = await pageFetch(page, "GET", `/api/v1/holds?state=${state}&limit=100`);
	return (r.body?.items ?? []).find((i) => i.subject === subject) ?? null;
}

const shot = (page, name) => page.screenshot({ path: path.join(ART, name), fullPage: true });

describe("sekisho console: held mail, approvals, account security",
    { skip: URL_ && OUT_PORT ? false : "run through tests/integration/test_e2e.sh (E2E_URL, E2E_OUT_PORT unset)" }, () => {
	let browser;
	const pages = {};
	const S = {
		h1: "E2E hold send-now", h2: "E2E hold to cancel", b1: "E2E 見積書 bob",
		a1: "E2E quote needing approval", a2: "E2E quote to reject",
	};
	const ids = {};

	before(async () => {
		browser = await launch();
		fs.mkdirSync(ART, { recursive: true });
	});
	after(async () => {
		await browser?.close();
	});

	it("shows a user their own held mail with kind and countdown, and not another's", async (t) => {
		if (await skipUnless(t, "/holds"))
			return;
		send("alice@sekisho.test", "h1", S.h1);
		send("alice@sekisho.test", "h2", S.h2);
		const sentB1 = Date.now();
		send("bob@sekisho.test", "b1", S.b1);
		ids.sentB1 = sentB1;

		const alice = pages.alice = await newPage(browser, "en-US");
		await signIn(alice, URL_, "alice", USERS.alice);
		for (const k of ["h1", "h2"])
			ids[k] = (await waitUntil(() => holdOf(alice, S[k], "held"), 15000, `alice's ${k} held`)).id;
		await alice.locator("nav.side a[data-nav=holds]").waitFor();
		assert.equal(await alice.locator("nav.side a[data-nav=approvals]").count(), 0, "a user has no approvals page");
		await alice.locator("nav.side a[data-nav=holds]").click();
		await alice.locator("#holds-list").waitFor();
		assert.equal(await alice.locator("h1").innerText(), "Held mail");
		const row = alice.locator(`#holds-list tr[data-id="${ids.h2}"]`);
		const text = await row.innerText();
		assert.match(text, /E2E hold to cancel/);
		assert.match(text, /partner@partner\.example/);
		assert.match(text, /Hold/);
		assert.match(text, /in (9|10) min/, `alice's 10-minute hold counts down: ${text}`);
		const before = await row.locator("[data-countdown]").innerText();
		await waitUntil(async () => (await row.locator("[data-countdown]").innerText()) !== before, 5000,
		    "the countdown to tick");
		assert.equal(await row.locator(".confirm[data-act=cancel] button").count(), 1, "a cancel button");
		assert.equal(await row.locator(".confirm[data-act=release] button").count(), 1, "a send-now button");
		const all = await alice.locator("#holds-list tbody").innerText();
		assert.doesNotMatch(all, /bob/, "alice does not see bob's held mail");

		// bob (Japanese): his own, with the countdown in Japanese, not alice's
		const bob = pages.bob = await newPage(browser, "ja-JP");
		await signIn(bob, URL_, "bob", USERS.bob);
		const b1 = await waitUntil(() => holdOf(bob, S.b1), 15000, "bob's b1 held");
		ids.b1 = b1.id;
		await bob.goto(`${URL_}/#/holds?state=all`);
		await bob.locator("#holds-list").waitFor();
		assert.equal(await bob.locator("h1").innerText(), "送信保留メール");
		const bobRows = await bob.locator("#holds-list tbody").innerText();
		assert.match(bobRows, /E2E 見積書 bob/);
		assert.doesNotMatch(bobRows, /E2E hold/, "bob does not see alice's held mail");
		if (b1.status === "held")
			assert.match(bobRows, /あと \d+秒|送信保留/, `the Japanese countdown or kind: ${bobRows}`);
		await shot(bob, "holds-user-ja.png");
		assert.equal((await holdOf(bob, S.h1)), null, "alice's hold is not in bob's API list");
		const other = await pageFetch(bob, "GET", `/api/v1/holds/${encodeURIComponent(ids.h1)}`);
		assert.equal(other.status, 404, "bob opening alice's hold");
		const cancel = await pageFetch(bob, "POST", `/api/v1/holds/${encodeURIComponent(ids.h1)}/cancel`,
		    { "X-CSRF-Token": await csrf(bob) });
		assert.ok(cancel.status === 403 || cancel.status === 404, `bob cancelling alice's hold: ${cancel.status}`);
		assert.deepEqual(alice.errors, []);
		assert.deepEqual(bob.errors, []);
	});

	it("cancels a held mail after an inline confirm: it never arrives", async (t) => {
		if (!ids.h2)
			return t.skip("no held mail");
		const alice = pages.alice;
		await alice.goto(`${URL_}/#/holds/${encodeURIComponent(ids.h2)}`);
		await alice.locator(".hold-actions").waitFor();
		assert.equal(await alice.locator("h1").innerText(), S.h2);
		const c = alice.locator(".confirm[data-act=cancel]");
		await c.locator("button").click();
		assert.match(await c.locator("[role=alert]").innerText(), /Cancel this mail/);
		await c.locator("button.danger").click();
		const st = alice.locator(".status-line [role=status]");
		await st.waitFor();
		assert.match(await st.innerText(), /Cancelled/);
		const h = await pageFetch(alice, "GET", `/api/v1/holds/${encodeURIComponent(ids.h2)}`);
		assert.equal(h.body.status, "cancelled");
		assert.ok((h.body.timeline ?? []).some((e) => e.event === "cancelled"), "the timeline has the cancel");
		// the page reloads: no more buttons, the timeline shows it
		await waitUntil(async () => (await alice.locator(".timeline li[data-event=cancelled]").count()) > 0, 10000,
		    "the cancel in the timeline");
		assert.equal(await alice.locator(".hold-actions button").count(), 0, "a cancelled mail has no actions");
	});

	it("sends a held mail now: it arrives exactly once; bob's leaves after its hold time", async (t) => {
		if (!ids.h1)
			return t.skip("no held mail");
		const alice = pages.alice;
		await alice.goto(`${URL_}/#/holds`);
		const row = alice.locator(`#holds-list tr[data-id="${ids.h1}"]`);
		await row.waitFor();
		await row.locator(".confirm[data-act=release] button").click();
		await row.locator(".confirm[data-act=release] button.primary").click();
		await row.locator(".row-status [role=status]").waitFor();
		// the row is drawn again from the server: sent, no buttons left
		await alice.locator(`#holds-list tr[data-id="${ids.h1}"][data-status=released]`).waitFor();
		assert.equal(await row.locator(".hold-actions button").count(), 0);
		await waitUntil(() => delivered("h1") === 1, 20000, "h1 in the outbound sink");
		// bob's mail: held 8 s from sending, then sent by itself
		await waitUntil(() => delivered("b1") === 1, 30000, "bob's b1 after its hold time");
		const h = await holdOf(pages.bob, S.b1);
		assert.equal(h.status, "released");
		await sleep(3000);
		assert.equal(delivered("h1"), 1, "sent now: exactly once");
		assert.equal(delivered("b1"), 1, "released by time: exactly once");
		assert.equal(delivered("h2"), 0, "the cancelled mail never arrived");
	});

	it("shows the approver the request with risk, symbols and preview; approve sends it once", async (t) => {
		if (await skipUnless(t, "/approvals", "/holds"))
			return;
		send("alice@sekisho.test", "a1", S.a1, { attach: "quote-a1.pdf" });
		send("alice@sekisho.test", "a2", S.a2, { attach: "quote-a2.pdf" });
		const alice = pages.alice;
		const a1 = await waitUntil(() => holdOf(alice, S.a1, "held"), 15000, "a1 waiting for approval");
		ids.a1 = a1.id;
		ids.a2 = (await waitUntil(() => holdOf(alice, S.a2, "held"), 15000, "a2 waiting")).id;
		assert.equal(a1.kind, "approval");
		assert.ok(!(a1.actions ?? []).includes("release"), "the sender cannot send an approval request herself");
		assert.ok(!(a1.actions ?? []).includes("approve"), "nor approve it");
		const self = await pageFetch(alice, "POST", `/api/v1/holds/${encodeURIComponent(a1.id)}/release`,
		    { "X-CSRF-Token": await csrf(alice) });
		assert.ok(self.status === 403 || self.status === 404, `alice releasing her approval request: ${self.status}`);

		const ap = pages.approver = await newPage(browser, "en-US");
		await signIn(ap, URL_, "approver", USERS.approver);
		await ap.locator("nav.side a[data-nav=approvals]").waitFor();
		await ap.locator("nav.side a[data-nav=approvals]").click();
		await ap.locator("#approvals-list").waitFor();
		assert.equal(await ap.locator("h1").innerText(), "Approvals");
		const row = ap.locator(`#approvals-list tr[data-id="${ids.a1}"]`);
		await row.waitFor();
		const rt = await row.innerText();
		assert.match(rt, /alice@sekisho\.test/);
		assert.match(rt, /quote-a1\.pdf/, "the attachment is listed");
		assert.match(rt, /OUT_EXTERNAL_ATTACHMENT/, "the symbol behind the risk");
		assert.ok(Number(await row.locator("[data-risk]").getAttribute("data-risk")) >= 10, "risk at the threshold");
		assert.match(rt, /Deadline in/, "the deadline counts down");
		await shot(ap, "approvals.png");

		await row.locator("a").first().click();
		await ap.locator(".approval-detail").waitFor();
		assert.equal(await ap.locator("h1").innerText(), S.a1);
		await ap.locator("[data-reason=OUT_EXTERNAL_ATTACHMENT]").waitFor();
		assert.match(await ap.locator("[data-reason=OUT_EXTERNAL_ATTACHMENT]").innerText(), /outside address/);
		await ap.locator("button[data-tab=text]").click();
		assert.match(await ap.locator("pre.preview-text").innerText(), /E2E body of a1/);
		assert.match(await ap.locator("ul.attachments").innerText(), /quote-a1\.pdf/);
		const tl = await ap.locator(".timeline").innerText();
		assert.match(tl, /Held/, "the timeline starts with the hold");
		assert.doesNotMatch(tl, /1970/, "no made-up times in the timeline");
		await ap.getByLabel("Comment (optional)").fill("E2E: checked, OK to send");
		await shot(ap, "approval-detail.png");
		assert.equal(delivered("a1"), 0, "not delivered before approval");
		await ap.locator("button[data-act=approve]").click();
		const st = ap.locator(".decision .status-line [role=status]");
		await st.waitFor();
		assert.match(await st.innerText(), /Approved/);
		await waitUntil(() => delivered("a1") === 1, 20000, "the approved mail in the outbound sink");
		const h = await pageFetch(ap, "GET", `/api/v1/holds/${encodeURIComponent(ids.a1)}`);
		assert.equal(h.body.status, "approved");
		assert.equal(h.body.comment, "E2E: checked, OK to send");
		await sleep(3000);
		assert.equal(delivered("a1"), 1, "approved: delivered exactly once");
		assert.deepEqual(ap.errors, []);
	});

	it("rejects a request with a comment after an inline confirm: it never arrives", async (t) => {
		if (!ids.a2)
			return t.skip("no approval request");
		const ap = pages.approver;
		await ap.goto(`${URL_}/#/approvals/${encodeURIComponent(ids.a2)}`);
		await ap.locator(".decision").waitFor();
		await ap.getByLabel("Comment (optional)").fill("E2E: wrong recipient");
		const c = ap.locator(".confirm[data-act=reject]");
		await c.locator("button").click();
		assert.match(await c.locator("[role=alert]").innerText(), /Reject this mail/);
		await c.locator("button.danger").click();
		await ap.locator(".decision .status-line [role=status]").waitFor();
		const h = await pageFetch(ap, "GET", `/api/v1/holds/${encodeURIComponent(ids.a2)}`);
		assert.equal(h.body.status, "rejected");
		assert.equal(h.body.comment, "E2E: wrong recipient");
		// the list no longer has it; the decided one is there with "include decided"
		await ap.goto(`${URL_}/#/approvals`);
		await ap.locator("h1").waitFor();
		await waitUntil(async () => (await ap.locator(`#approvals-list tr[data-id="${ids.a2}"]`).count()) === 0, 5000,
		    "a2 gone from the waiting list");
		await sleep(2000);
		assert.equal(delivered("a2"), 0, "rejected: never delivered");
		// a decision twice: 409
		const again = await pageFetch(ap, "POST", `/api/v1/approvals/${encodeURIComponent(ids.a2)}/approve`,
		    { "X-CSRF-Token": await csrf(ap), "Content-Type": "application/json" }, { comment: "" });
		assert.equal(again.status, 409, "a decided request cannot be decided again");
	});

	it("lets the admin lock and unlock an account and see logins with the IP address", async (t) => {
		if (await skipUnless(t, "/accounts/locks", "/accounts/logins"))
			return;
		const admin = pages.admin = await newPage(browser, "en-US");
		await signIn(admin, URL_, "admin", USERS.admin);
		await admin.locator("nav.side a[data-nav=accounts]").waitFor();
		await admin.locator("nav.side a[data-nav=accounts]").click();
		await admin.locator("#locks").waitFor();
		assert.equal(await admin.locator("h1").innerText(), "Account security");
		// console sign-ins are login events: protocol console, from 127.0.0.1
		const logins = await admin.locator("#logins-table tbody").innerText();
		assert.match(logins, /console/);
		assert.match(logins, /127\.0\.0\.1/);

		const form = admin.locator("form.lock-form");
		await form.getByLabel("Login").fill("mallory@sekisho.test");
		await form.getByLabel("Reason").fill("E2E suspicious logins");
		await form.getByLabel("Duration").selectOption("1h");
		await form.locator("button[type=submit]").click();
		await admin.locator("#locks .status-line [role=status]").waitFor();
		const row = admin.locator('#locks-table tr[data-login="mallory@sekisho.test"]');
		await row.waitFor({ timeout: 10000 });
		assert.match(await row.innerText(), /E2E suspicious logins/);
		const locks = await pageFetch(admin, "GET", "/api/v1/accounts/locks");
		const l = locks.body.items.find((x) => x.login === "mallory@sekisho.test");
		assert.ok(l, "the lock is on the server");
		const left = (Date.parse(l.until) - Date.now()) / 60000;
		assert.ok(left > 55 && left <= 61, `locked for about an hour (${left} min)`);
		if (process.env.E2E_SEKISHO) {
			const out = execFileSync(process.env.E2E_SEKISHO, ["-o", `state_dir=${process.env.E2E_STATE}`,
			    "account", "list-locks"], { encoding: "utf8" });
			assert.match(out, /mallory@sekisho\.test/, "sekisho account list-locks sees it");
		}
		await row.locator(".confirm[data-act=unlock] button").click();
		await row.locator(".confirm[data-act=unlock] button.primary").click();
		await row.waitFor({ state: "detached", timeout: 10000 });
		const after = await pageFetch(admin, "GET", "/api/v1/accounts/locks");
		assert.ok(!after.body.items.some((x) => x.login === "mallory@sekisho.test"), "unlocked on the server");
		assert.deepEqual(admin.errors, []);
	});

	it("shows an attack from the mail log as an alert and a lock; the admin acknowledges the alert", async (t) => {
		if (!process.env.E2E_AUTHLOG)
			return t.skip("no mail log followed (E2E_AUTHLOG unset)");
		if (await skipUnless(t, "/accounts/alerts"))
			return;
		const admin = pages.admin;
		// a syslog time stamp ("%b %e %T", local time) and the Dovecot line
		// of five failures: past login_lock_failures (4)
		const d = new Date();
		const stamp = `${d.toLocaleString("en-US", { month: "short" })} ${String(d.getDate()).padStart(2, " ")} ` +
		    d.toTimeString().slice(0, 8);
		fs.appendFileSync(process.env.E2E_AUTHLOG, `${stamp} mx dovecot: imap-login: ` +
		    "Disconnected (auth failed, 5 attempts in 4 secs): user=<dave@sekisho.test>, method=PLAIN, " +
		    "rip=198.51.100.4, lip=192.0.2.1, session=<e2e>\n");
		const alert = await waitUntil(async () => {
			const r = await pageFetch(admin, "GET", "/api/v1/accounts/alerts");
			return (r.body?.items ?? []).find((a) => a.login === "dave@sekisho.test") ?? null;
		}, 15000, "an alert about dave");
		await admin.goto(`${URL_}/#/accounts?login=dave%40sekisho.test&result=fail`);
		const row = admin.locator(`#alerts-table tr[data-id="${alert.id}"]`);
		await row.waitFor();
		assert.match(await row.innerText(), /dave@sekisho\.test/);
		assert.match(await admin.locator('#locks-table tr[data-login="dave@sekisho.test"]').innerText(), /\S/,
		    "the attack locked the account");
		const fails = await admin.locator("#logins-table tbody").innerText();
		assert.match(fails, /198\.51\.100\.4/);
		assert.match(fails, /Failed/);
		assert.doesNotMatch(fails, /Success/, "the result filter applies");
		await row.locator("button[data-act=ack]").click();
		await waitUntil(async () => /Acknowledged/.test(await row.innerText()), 5000, "the alert acknowledged");
		const open = await pageFetch(admin, "GET", "/api/v1/accounts/alerts");
		assert.ok(!open.body.items.some((a) => a.id === alert.id), "no longer among the unacknowledged");
		const all = await pageFetch(admin, "GET", "/api/v1/accounts/alerts?all=1");
		assert.equal(all.body.items.find((a) => a.id === alert.id)?.acknowledged, true);
		assert.deepEqual(admin.errors, []);
	});

	it("opens an incident, marks a step done, closes it and shows the report", async (t) => {
		if (await skipUnless(t, "/incidents"))
			return;
		const admin = pages.admin;
		await admin.goto(`${URL_}/#/accounts`);
		const form = admin.locator("form.incident-form");
		await form.waitFor();
		await form.getByLabel("Login").fill("carol@sekisho.test");
		await form.locator(".confirm[data-act=open-incident] button").click();
		await form.locator(".confirm[data-act=open-incident] button.danger").click();
		const opened = admin.locator("#incidents .opened");
		await opened.waitFor({ timeout: 20000 });
		assert.match(await opened.innerText(), /is open for carol@sekisho\.test/);
		const pw = await opened.locator("[data-secret=temporary_password]").innerText();
		assert.ok(pw.length >= 8, "a temporary password is shown once");
		await admin.locator('#incidents-table tr[data-login="carol@sekisho.test"]').waitFor();
		// step 2 locked carol: the locks are drawn again
		await admin.locator('#locks-table tr[data-login="carol@sekisho.test"]').waitFor();
		await shot(admin, "accounts.png");
		await opened.locator("a.button").click();
		await admin.locator("ol.steps").waitFor();
		assert.match(await admin.locator("h1").innerText(), /^Incident \d+: carol@sekisho\.test$/);
		const id = admin.url().match(/incidents\/(\d+)/)[1];
		assert.equal(await admin.locator("ol.steps li.step").count(), 4, "the four steps");
		assert.ok(await admin.locator("#incident-timeline li").count() >= 1, "the timeline has the opening");

		const step = admin.locator("li.step[data-step='1']");
		await step.locator("input[type=checkbox]").check();
		await step.locator("textarea").fill("E2E: logins checked, one foreign IP");
		await step.locator("button[data-act=save-step]").click();
		await admin.locator(".status-line [role=status]").first().waitFor();
		await waitUntil(async () => {
			const r = await pageFetch(admin, "GET", `/api/v1/incidents/${id}`);
			return r.body?.steps?.[0]?.done === true ? r : null;
		}, 10000, "step 1 done on the server");
		const inc = (await pageFetch(admin, "GET", `/api/v1/incidents/${id}`)).body;
		assert.equal(inc.steps[0].note, "E2E: logins checked, one foreign IP");
		assert.equal(inc.steps_done, 1);
		await waitUntil(async () => (await admin.locator("li.step[data-step='1'].done").count()) === 1, 10000,
		    "step 1 shown done");
		assert.ok(await admin.locator("li.step[data-step='1'] input[type=checkbox]").isChecked());
		await shot(admin, "incident.png");

		const c = admin.locator(".confirm[data-act=close]");
		await c.locator("button").click();
		await c.locator("button.danger").click();
		await waitUntil(async () => (await admin.locator("[data-status=closed]").count()) === 1, 10000,
		    "the incident closed");
		assert.equal((await pageFetch(admin, "GET", `/api/v1/incidents/${id}`)).body.status, "closed");
		await admin.locator("a[data-act=report]").click();
		await admin.locator("pre.report-text").waitFor();
		const rep = await admin.locator("pre.report-text").innerText();
		assert.match(rep, /carol@sekisho\.test/);
		assert.match(rep, /E2E: logins checked/);
		assert.match(rep, /Closed/);
		assert.deepEqual(admin.errors, []);
	});

	it("shows a user only their own logins, no lock form and no incidents", async (t) => {
		if (await skipUnless(t, "/accounts/logins"))
			return;
		const bob = pages.bob;
		await bob.goto(`${URL_}/#/accounts`);
		await bob.locator("#logins").waitFor();
		assert.equal(await bob.locator("h1").innerText(), "アカウントセキュリティ");
		assert.equal(await bob.locator("form.lock-form").count(), 0);
		assert.equal(await bob.locator("#incidents").count(), 0);
		const r = await pageFetch(bob, "GET", "/api/v1/accounts/logins");
		assert.equal(r.status, 200);
		assert.ok(r.body.items.every((i) => /bob/.test(i.login)), `only bob's logins: ${JSON.stringify(r.body.items.map((i) => i.login))}`);
		assert.equal((await pageFetch(bob, "GET", "/api/v1/incidents")).status, 403);
		const lock = await pageFetch(bob, "POST", "/api/v1/accounts/locks",
		    { "X-CSRF-Token": await csrf(bob), "Content-Type": "application/json" }, { login: "alice@sekisho.test", reason: "x" });
		assert.equal(lock.status, 403, "a user cannot lock accounts");
		assert.deepEqual(bob.errors, []);
	});

	it("has the new pages in Japanese and English", async (t) => {
		if (await skipUnless(t, "/holds", "/approvals"))
			return;
		const ap = pages.approver;
		const want = {
			ja: { holds: "送信保留メール", approvals: "承認", accounts: "アカウントセキュリティ" },
			en: { holds: "Held mail", approvals: "Approvals", accounts: "Account security" },
		};
		for (const l of ["ja", "en"]) {
			await ap.goto(`${URL_}/#/holds`);
			await ap.locator(`.lang-switch button[lang=${l}]`).click();
			for (const [p, title] of Object.entries(want[l])) {
				const nav = ap.locator(`nav.side a[data-nav=${p}]`);
				await waitUntil(async () => (await nav.innerText().catch(() => "")) === title, 5000, `${l} ${p} nav`);
				await nav.click();
				await waitUntil(async () => (await ap.locator("h1").innerText().catch(() => "")) === title, 5000,
				    `${l} ${p} title`);
			}
		}
		// the decided request in Japanese: kind, status, timeline words
		await ap.locator(".lang-switch button[lang=ja]").click();
		await ap.goto(`${URL_}/#/approvals?state=all`);
		await ap.locator("#approvals-list").waitFor();
		assert.match(await ap.locator("#approvals-list thead").innerText(), /リスク/);
		await shot(ap, "approvals-ja.png");
		await ap.goto(`${URL_}/#/holds/${encodeURIComponent(ids.a1)}`);
		await ap.locator(".hold-detail").waitFor();
		const txt = await ap.locator(".hold-detail").innerText();
		for (const w of ["承認待ち", "承認済み", "経過", "理由 (リスク)"])
			assert.ok(txt.includes(w), `Japanese detail has ${w}`);
		await ap.locator(".lang-switch button[lang=en]").click();
		assert.deepEqual(ap.errors, []);
	});
});
