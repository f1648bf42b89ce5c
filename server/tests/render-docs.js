// Runs the docs page's renderer (server/assets/docs/docs.js) over an
// OpenAPI document read from standard input, and prints what it rendered
// as JSON: {nav, main}. The Rust test checks it.
"use strict";
const { render } = require("../assets/docs/docs.js");
let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => process.stdout.write(JSON.stringify(render(JSON.parse(input)))));
