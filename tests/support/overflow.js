// What sticks out sideways on a page (tests/test_screens_browser.py).
() => {
  const problems = [];
  const width = window.innerWidth;
  const scroller = document.scrollingElement;
  if (scroller.scrollWidth > width) {
    problems.push(`the page scrolls sideways: ${scroller.scrollWidth} > ${width}`);
  }
  const name = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    if (typeof el.className === 'string' && el.className.trim()) s += '.' + el.className.trim().split(/\s+/).join('.');
    return s;
  };
  const clipping = (el) => getComputedStyle(el).overflowX !== 'visible';
  for (const el of document.querySelectorAll('body *')) {
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden' || style.position === 'fixed' || style.position === 'absolute') continue;
    if (el.closest('.offcanvas:not(.show), .dropdown-menu, .visually-hidden, svg')) continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    // Inside a scrolling or clipping box only the box itself must fit.
    let inScroller = false;
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      if (clipping(up)) { inScroller = true; break; }
    }
    const parent = el.parentElement;
    const parentBox = parent && parent !== document.body && getComputedStyle(parent).display !== 'inline' ? parent.getBoundingClientRect() : null;
    const past = !inScroller && (box.right - width > 1 || box.left < -1);
    const pastParent = parentBox && !clipping(parent) && (box.right - parentBox.right > 1 || parentBox.left - box.left > 1);
    if (past || pastParent) {
      const what = `${name(el)} [${Math.round(box.left)}, ${Math.round(box.right)}] in ${parent ? name(parent) : 'body'}`;
      // Report the outermost offender only: its children follow it out.
      if (!problems.some((p) => p.includes(name(parent)))) problems.push(what);
    }
  }
  return problems.slice(0, 10);
}
