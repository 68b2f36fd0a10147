// Open the page in the system's headless Chromium and print what it found (JSON on stdout).
import { launchChromium } from "./launch.mjs";

const [pageUrl, executablePath = "/usr/bin/chromium"] = process.argv.slice(2);
const browser = await launchChromium(executablePath);
try {
  const page = await browser.newPage();
  const problems = [];
  page.on("console", (message) => message.type() === "error" && problems.push(message.text()));
  await page.goto(pageUrl);
  const handle = await page.waitForFunction(() => window.__result, null, { timeout: 60_000 });
  const result = await handle.jsonValue();
  console.log(JSON.stringify({ ...result, console_errors: problems }));
} finally {
  await browser.close();
}
