// Runs first in <body>: lets GOV.UK Frontend style for JavaScript before the page paints.
document.body.classList.add("js-enabled", "govuk-frontend-supported");
