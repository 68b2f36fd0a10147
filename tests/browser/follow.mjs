// Open a page in the system's headless Chromium and print, one JSON line each, what the page reports
// (`window.report`) and every answer to /api/events; close the browser when stdin closes.
import { launchChromium } from "./launch.mjs";

const [pageUrl, executablePath = "/usr/bin/chromium"] = process.argv.slice(2);
const print = (line) => process.stdout.write(JSON.stringify(line) + "\n");
const browser = await launchChromium(executablePath);
try {
  const page = await browser.newPage();
  await page.exposeFunction("report", (line) => print({ ...line, at: Date.now() }));
  page.on("console", (message) => message.type() === "error" && print({ kind: "console", text: message.text() }));
  const streams = (request) => new URL(request.url()).pathname === "/api/events";
  page.on("response", (response) => {
    if (streams(response.request())) print({ kind: "response", status: response.status(), at: Date.now() });
  });
  // A stream that ends: its status and the whole body it sent.
  page.on("requestfinished", async (request) => {
    if (!streams(request)) return;
    const response = await request.response();
    const body = response ? await response.text().catch((error) => `(unreadable: ${error})`) : null;
    print({ kind: "finished", status: response && response.status(), body, at: Date.now() });
  });
  await page.goto(pageUrl);
  print({ kind: "loaded" });
  process.stdin.resume();
  await new Promise((resolve) => process.stdin.on("end", resolve));
} finally {
  await browser.close();
}
