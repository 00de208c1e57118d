// Headless Chromium for the browser tests of the Node suites: Debian's
// chromium package (or the browser TIDINGS_CHROMIUM names), driven through
// playwright-core with a fresh profile per launch.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'

export const chromiumPath = process.env.TIDINGS_CHROMIUM || '/usr/bin/chromium'

// launchChromium starts chromiumPath through the given playwright-core
// `chromium` (each npm package resolves playwright-core from its own
// node_modules, so the caller passes it in); options (such as a viewport)
// are added to playwright's launch options. It resolves {browser, close}:
// browser is a persistent BrowserContext; close() closes it and removes the
// profile.
export async function launchChromium(chromium, options = {}) {
  const profile = await mkdtemp(path.join(tmpdir(), 'tidings-chromium-'))
  const removeProfile = () => rm(profile, { recursive: true, force: true })
  let browser
  try {
    browser = await chromium.launchPersistentContext(profile, {
      ...options,
      executablePath: chromiumPath,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    })
  } catch (err) {
    await removeProfile()
    throw err
  }
  return {
    browser,
    async close() {
      await browser.close()
      await removeProfile()
    },
  }
}
