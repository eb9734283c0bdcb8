// Package browser holds black-box tests of sluice's web dashboard in a real
// browser: each test starts the built sluice binary on a free port in a
// temporary data directory and drives Chromium (headless, through the
// DevTools protocol with chromedp) against its /ui/ pages, as a person
// would: signing in, watching a canary move, aborting it, flipping a flag,
// looking at secrets.
//
// The tests need Debian's chromium (/usr/bin/chromium, or SLUICE_CHROMIUM
// naming another build). Without it they are skipped, except under CI=true,
// where they fail. Each test saves a full-page screenshot under
// $SLUICE_TEST_ARTIFACTS/<test> (default: the system's temporary directory,
// sluice-test-artifacts/<test>) and fails on any Content-Security-Policy
// violation or JavaScript error the pages report.
//
// SLUICE_UPDATE_SCREENSHOTS=1 also regenerates the documentation's
// screenshots in docs/images (TestDocumentationScreenshots).
package browser
