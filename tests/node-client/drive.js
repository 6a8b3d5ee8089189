// Drives CleverTap's official Node.js library (npm clevertap 1.3.0) against the fake CleverTap.
// Only the library's endpoint is changed: it points at QC_FAKE_URI instead of
// https://<region>.api.clevertap.com. Prints one JSON line per scenario:
// {"scenario": NAME, "result": <what the library resolved>}.
"use strict";

const CleverTap = require("clevertap");

const uri = process.env.QC_FAKE_URI;
const accountId = process.env.QC_ACCOUNT_ID;
const passcode = process.env.QC_PASSCODE;
if (!uri || !accountId || !passcode) {
  console.error("set QC_FAKE_URI, QC_ACCOUNT_ID and QC_PASSCODE");
  process.exit(2);
}

function client(code) {
  const clevertap = CleverTap.init(accountId, code, CleverTap.REGIONS.EUROPE);
  clevertap.api.apiEndpoint = `${uri}/1`;
  return clevertap;
}

const TS = 1700000000;
const event = (name, identity) => ({
  type: "event", identity: identity || "node-user-1", ts: TS, evtName: name,
  evtData: { plan: "pro_monthly", price: 9.99 },
});
const profile = (data) => ({ type: "profile", identity: "node-user-1", ts: TS, profileData: data });

async function main() {
  const scenarios = {
    mixed: () => client(passcode).upload([
      event("trial_started"),
      profile({ Gender: "GG" }),
      event("trial_converted", "u".repeat(121)),
      event("App Launched"),
      profile({ Name: "Node User", Email: "node@example.com" }),
    ]),
    batched: () => client(passcode).upload(Array.from({ length: 250 }, (_, i) => event(`bulk_${i}`))),
    wrong_passcode: () => client("not-the-passcode").upload([event("trial_started")]),
  };
  for (const [scenario, run] of Object.entries(scenarios)) {
    const result = await run();
    console.log(JSON.stringify({ scenario, result }));
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
