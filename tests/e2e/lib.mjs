// lib.mjs - helpers for the console's end-to-end tests: TOTP codes
// (RFC 6238 with node:crypto), Debian's Chromium through playwright-core,
// sign-in through the console's own form, and polling.

import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";

// base32 (RFC 4648, no padding needed) -> bytes
export function base32Decode(s) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	const clean = s.toUpperCase().replace(/[=\s]/g, "");
	let bits = 0, value = 0;
	const out = [];
	for (const c of clean) {
		const v = alphabet.indexOf(c);
		if (v < 0)
			throw new Error(`bad base32 character ${c}`);
		value = (value << 5) | v;
		bits += 5;
		if (bits >= 8) {
			out.push((value >>> (bits - 8)) & 0xff);
			bits -= 8;
		}
	}
	return Buffer.from(out);
}

// hotp: RFC 4226 with HMAC-SHA1, `digits` digits.
export function hotp(key, counter, digits = 6) {
	const msg = Buffer.alloc(8);
	msg.writeBigUInt64BE(BigInt(counter));
	const mac = crypto.createHmac("sha1", key).update(msg).digest();
	const off = mac[mac.length - 1] & 0x0f;
	const bin = ((mac[off] & 0x7f) << 24) | (mac[off + 1] << 16) | (mac[off + 2] << 8) | mac[off + 3];
	return String(bin % 10 ** digits).padStart(digits, "0");
}

export function totpStep(ms = Date.now()) {
	return Math.floor(ms / 1000 / 30);
}

export function totp(secretBase32, step = totpStep()) {
	return hotp(base32Decode(secretBase32), step);
}

// The server never accepts a code twice (and may refuse any step at or
// before the last one used): each sign-in of a user takes a later step,
// the current one or the next (within the server's +-1 window), and waits
// for the next period when both are used.  The steps used are kept in a
// file under E2E_TMP too: every test file runs in a process of its own.
const stepsFile = process.env.E2E_TMP ? path.join(process.env.E2E_TMP, "totp-steps.json") : null;
const lastStep = new Map();

function loadSteps() {
	if (!stepsFile)
		return;
	try {
		for (const [k, v] of Object.entries(JSON.parse(fs.readFileSync(stepsFile, "utf8"))))
			lastStep.set(k, Math.max(lastStep.get(k) ?? -1, v));
	} catch {
		/* no file yet */
	}
}

function saveSteps() {
	if (stepsFile)
		fs.writeFileSync(stepsFile, JSON.stringify(Object.fromEntries(lastStep)));
}

export async function freshCode(name, secret) {
	loadSteps();
	for (;;) {
		const now = totpStep();
		const last = lastStep.get(name) ?? -1;
		for (const st of [now, now + 1]) {
			if (st > last) {
				lastStep.set(name, st);
				saveSteps();
				return totp(secret, st);
			}
		}
		await sleep(((now + 1) * 30 * 1000) - Date.now() + 200);
	}
}

export function sleep(ms) {
	return new Promise((r) => setTimeout(r, ms));
}

// waitUntil: poll fn() until it returns a truthy value or `ms` pass.
export async function waitUntil(fn, ms = 30000, what = "condition") {
	const end = Date.now() + ms;
	for (;;) {
		const v = await fn();
		if (v)
			return v;
		if (Date.now() > end)
			throw new Error(`timed out waiting for ${what}`);
		await sleep(200);
	}
}

// Debian's Chromium, headless, nothing reaching out.  playwright-core's
// launch() gives the browser a fresh temporary profile (user-data-dir) of
// its own and removes it on close.
export async function launch() {
	return chromium.launch({
		executablePath: process.env.E2E_CHROMIUM || "/usr/bin/chromium",
		headless: true,
		args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
	});
}

// newPage: a fresh context (own cookies and localStorage) with a browser
// language; page errors are collected so a test can assert there were none.
export async function newPage(browser, locale = "en-US") {
	const context = await browser.newContext({ locale, viewport: { width: 1280, height: 900 } });
	const page = await context.newPage();
	page.errors = [];
	page.on("pageerror", (e) => page.errors.push(e.message));
	// the console must run under the server's CSP (no inline styles or scripts)
	page.on("console", (m) => {
		if (/Content Security Policy/i.test(m.text()))
			page.errors.push(m.text());
	});
	return page;
}

// wrongCode: six digits that are none of the codes the server accepts now.
export function wrongCode(secret) {
	const now = totpStep();
	const valid = new Set([-1, 0, 1].map((d) => totp(secret, now + d)));
	let c = Number(totp(secret, now));
	while (valid.has(String(c).padStart(6, "0")))
		c = (c + 1) % 1000000;
	return String(c).padStart(6, "0");
}

// signIn: through the console's form, by mouse or (keyboard) by typing and
// Enter; resolves when the navigation is there.
export async function signIn(page, url, name, user, { keyboard = false } = {}) {
	await page.goto(url);
	const code = await freshCode(name, user.secret);
	if (keyboard) {
		// the user name field has focus; Tab moves through the form
		await page.locator("input[name=username]").waitFor();
		await page.keyboard.type(name);
		await page.keyboard.press("Tab");
		await page.keyboard.type(user.password);
		await page.keyboard.press("Tab");
		await page.keyboard.type(code);
		await page.keyboard.press("Enter");
	} else {
		await page.locator("input[name=username]").fill(name);
		await page.locator("input[name=password]").fill(user.password);
		await page.locator("input[name=totp]").fill(code);
		await page.locator("form.login-form button[type=submit]").click();
	}
	await page.locator("nav.side").waitFor({ timeout: 15000 });
}

// status: an API request from inside the page (its cookie, no CSRF header
// unless given), answering the HTTP status and the JSON body.
export async function pageFetch(page, method, path, headers = {}, body) {
	return page.evaluate(async ([m, p, hd, b]) => {
		const r = await fetch(p, { method: m, headers: hd, body: b === undefined ? undefined : JSON.stringify(b) });
		let j = null;
		try { j = await r.json(); } catch { /* empty */ }
		return { status: r.status, body: j };
	}, [method, path, headers, body]);
}

// findInDir: the first file under dir whose bytes contain needle, or null.
export function findInDir(dir, needle) {
	let entries;
	try {
		entries = fs.readdirSync(dir, { withFileTypes: true });
	} catch {
		return null;
	}
	for (const e of entries) {
		const p = path.join(dir, e.name);
		if (e.isDirectory()) {
			const f = findInDir(p, needle);
			if (f)
				return f;
		} else if (e.isFile() && fs.readFileSync(p).includes(needle)) {
			return p;
		}
	}
	return null;
}
