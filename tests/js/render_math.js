// Renders math with KaTeX, throwOnError on: reads [{"tex": ..., "display": bool}, ...] as JSON
// on stdin, prints the list of failures as JSON ([] when every formula renders).
const katex = require("katex");

let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const failures = [];
  for (const item of JSON.parse(input)) {
    try {
      katex.renderToString(item.tex, { displayMode: item.display, throwOnError: true, strict: "error" });
    } catch (error) {
      failures.push({ tex: item.tex.slice(0, 300), error: String(error.message || error) });
    }
  }
  process.stdout.write(JSON.stringify(failures));
});
