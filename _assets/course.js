/* The course site's fixes on top of sphinx-book-theme 1.3 / pydata-sphinx-theme 0.17
   (loaded on every page through _config.yml's html_js_files; tests/test_browser.py checks
   each of them in Chromium at phone and desktop widths). */
(() => {
  "use strict";

  /* 1. Navigation drawers. Both themes bind their sidebar handlers to the *first*
     .primary-toggle / .secondary-toggle of the page, which is pydata's header button that
     sphinx-book-theme hides; the visible buttons in the article header did nothing. Each
     other toggle hands its click to the bound one: below 992 px that opens the drawer
     (a <dialog>), above it the book theme collapses the left sidebar. */
  function forwardToggles() {
    for (const kind of ["primary-toggle", "secondary-toggle"]) {
      const [bound, ...others] = document.querySelectorAll(`button.${kind}`);
      if (!bound) continue;
      for (const button of others) {
        button.addEventListener("click", (event) => {
          event.preventDefault();
          event.stopPropagation();
          bound.click();
        });
        if (kind === "primary-toggle") button.setAttribute("aria-label", "Site navigation");
        if (kind === "secondary-toggle") button.setAttribute("aria-label", "Contents of this page");
      }
    }
  }

  /* 2. Scroll hints. Equations, code blocks and tables keep their width and scroll
     sideways inside the column; one that does gets the class course-scrolls, which draws
     a shadow on the side where more is hidden (course.css). An equation's scroller is
     its div.math (span.math inline), not the formula: formulas are no tab stops, but a
     region that scrolls must be reachable from the keyboard. */
  const SCROLLERS = "div.math, span.math, .bd-article pre, .pst-scrollable-table-container, .bd-article .cell_output .output";

  function markScrollers() {
    for (const el of document.querySelectorAll(SCROLLERS)) {
      // an inline formula scrolls only when it is longer than a whole line
      const scrolls = el.matches("span.math")
        ? !!el.firstElementChild && el.firstElementChild.getBoundingClientRect().width > el.parentElement.clientWidth
        : el.scrollWidth > el.clientWidth + 1;
      el.classList.toggle("course-scrolls", scrolls);
      if (el.matches(".math")) {
        if (scrolls) {
          el.tabIndex = 0;
          el.setAttribute("role", "region");
          el.setAttribute("aria-label", "Equation (scrolls sideways)");
        } else if (el.hasAttribute("role")) {
          el.removeAttribute("tabindex");
          el.removeAttribute("role");
          el.removeAttribute("aria-label");
        }
      }
    }
  }

  /* 3. Long inline code (torch.nn.functional.scaled_dot_product_attention) may break
     after a dot or an underscore instead of pushing the page sideways. <wbr> adds no
     character, so copied code stays intact. */
  function breakLongCode() {
    for (const code of document.querySelectorAll(".bd-article code.literal")) {
      if (code.textContent.length < 24 || code.dataset.courseWrapped) continue;
      code.dataset.courseWrapped = "1";
      const walker = document.createTreeWalker(code, NodeFilter.SHOW_TEXT);
      const texts = [];
      while (walker.nextNode()) texts.push(walker.currentNode);
      for (const t of texts) {
        const parts = t.textContent.split(/(?<=[._/(,])/);
        if (parts.length < 2) continue;
        const frag = document.createDocumentFragment();
        parts.forEach((p, i) => {
          if (i) frag.appendChild(document.createElement("wbr"));
          frag.appendChild(document.createTextNode(p));
        });
        t.replaceWith(frag);
      }
    }
  }

  /* 4. On a phone a figure is shrunk to the column: a tap opens it at full size. */
  function linkFigures() {
    for (const img of document.querySelectorAll(".bd-article figure img")) {
      if (img.closest("a")) continue;
      const a = document.createElement("a");
      a.href = img.currentSrc || img.src;
      a.className = "course-figure-link";
      img.replaceWith(a);
      a.appendChild(img);
    }
  }

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  ready(() => {
    forwardToggles();
    breakLongCode();
    linkFigures();
    markScrollers();
    // equations get their width once MathJax (a deferred script) has typeset them
    window.addEventListener("load", () => {
      const typeset = window.MathJax && MathJax.startup && MathJax.startup.promise;
      (typeset || Promise.resolve()).then(markScrollers);
    });
    let pending = null;
    window.addEventListener("resize", () => {
      clearTimeout(pending);
      pending = setTimeout(markScrollers, 100);
    });
  });

  // for the browser tests: the state once MathJax is done
  window.courseMarkScrollers = markScrollers;
})();
