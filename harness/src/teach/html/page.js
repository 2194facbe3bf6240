// The byte explorer: hovering or focusing a byte highlights its field and shows it; arrow
// keys move along the bytes of a grid. Everything shown here is also in the tables.
(function () {
  function fieldOf(table, offset) {
    var best = null;
    table.querySelectorAll('tr[data-off]').forEach(function (row) {
      var off = +row.dataset.off, len = +row.dataset.len;
      if (row.dataset.leaf === '1' && offset >= off && offset < off + len) best = row;
    });
    return best;
  }
  function show(grid, byte) {
    var table = document.getElementById(grid.dataset.fields);
    var detail = document.getElementById(grid.dataset.detail);
    if (!table || !detail) return;
    var offset = +byte.dataset.i;
    var row = fieldOf(table, offset);
    grid.querySelectorAll('i.on').forEach(function (b) { b.classList.remove('on'); });
    table.querySelectorAll('tr.on').forEach(function (r) { r.classList.remove('on'); });
    if (!row) { detail.textContent = 'byte ' + offset; return; }
    row.classList.add('on');
    var off = +row.dataset.off, len = +row.dataset.len;
    grid.querySelectorAll('i').forEach(function (b) {
      var i = +b.dataset.i;
      if (i >= off && i < off + len) b.classList.add('on');
    });
    var cells = row.querySelectorAll('td');
    detail.textContent = '';
    var name = document.createElement('strong');
    name.className = 'field-name';
    name.textContent = cells[1].textContent.trim();
    detail.appendChild(name);
    detail.appendChild(document.createTextNode(' (bytes ' + off + '..' + (off + len) + '): ' + cells[3].textContent));
  }
  document.querySelectorAll('.grid').forEach(function (grid) {
    var bytes = grid.querySelectorAll('i');
    bytes.forEach(function (b, i) { b.dataset.i = i; b.tabIndex = -1; });
    if (bytes.length) bytes[0].tabIndex = 0;
    grid.addEventListener('mouseover', function (e) { if (e.target.tagName === 'I') show(grid, e.target); });
    grid.addEventListener('focusin', function (e) { if (e.target.tagName === 'I') show(grid, e.target); });
    grid.addEventListener('keydown', function (e) {
      var i = +(document.activeElement.dataset.i || 0);
      var step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: 16, ArrowUp: -16 }[e.key];
      if (!step) return;
      var next = bytes[Math.max(0, Math.min(bytes.length - 1, i + step))];
      if (next) { e.preventDefault(); next.focus(); }
    });
  });
  // The field tables are open in the HTML (readable without a script); with the script
  // they fold away behind the byte grids, and open again to print.
  var folds = document.querySelectorAll('details');
  folds.forEach(function (d) { d.open = false; });
  window.addEventListener('beforeprint', function () { folds.forEach(function (d) { d.open = true; }); });
  // Copy buttons only where a script can copy; the commands are plain text without it.
  document.querySelectorAll('pre.cmd').forEach(function (pre) {
    var button = document.createElement('button');
    button.className = 'copy';
    button.type = 'button';
    button.textContent = 'copy';
    button.addEventListener('click', function () {
      if (navigator.clipboard) navigator.clipboard.writeText(pre.textContent);
    });
    pre.parentNode.insertBefore(button, pre);
  });
})();
