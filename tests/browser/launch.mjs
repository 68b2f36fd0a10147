// The system's Chromium, headless, as both browser drivers start it (no sandbox in a container, nothing
// fetched in the background).
import { chromium } from "playwright-core";

export const launchChromium = (executablePath = "/usr/bin/chromium") =>
  chromium.launch({
    executablePath,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      "--disable-sync",
    ],
  });
