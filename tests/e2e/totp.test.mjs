// totp.test.mjs - the test's own TOTP against RFC 6238 appendix B (SHA-1)
// and RFC 4226 appendix D, so a sign-in failure is never the test's code.

import assert from "node:assert/strict";
import { test } from "node:test";
import { base32Decode, hotp, totp } from "./lib.mjs";

const KEY = Buffer.from("12345678901234567890");

test("HOTP matches RFC 4226 appendix D", () => {
	const want = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"];
	want.forEach((w, i) => assert.equal(hotp(KEY, i), w));
});

test("TOTP matches RFC 6238 appendix B (8 digits, SHA-1)", () => {
	const cases = [[59, "94287082"], [1111111109, "07081804"], [1111111111, "14050471"],
	    [1234567890, "89005924"], [2000000000, "69279037"], [20000000000, "65353130"]];
	for (const [t, w] of cases)
		assert.equal(hotp(KEY, Math.floor(t / 30), 8), w);
});

test("base32 secrets decode (RFC 4648 vectors)", () => {
	assert.equal(base32Decode("MZXW6YTB").toString(), "fooba");
	assert.equal(base32Decode("MZXW6YTBOI").toString(), "foobar");
	assert.equal(base32Decode("mzxw6ytboi======").toString(), "foobar");
	assert.equal(totp("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", 1), "287082");
	assert.throws(() => base32Decode("0189"));
});
