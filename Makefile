# ResNet, hands-on. `make book` and `make test` each set up .venv first if needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-requirements
NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb))

.PHONY: help venv book pdf pdf-test test unit notebooks timings compat student student-check grade browser-test lab setup-cells clean zh-todo

help:
	@echo "make book   build the executed book into _build/html (sets up .venv first); reuses the"
	@echo "            outputs make test cached unless resnet_utils/ changed, executes the rest"
	@echo "            then the Chinese edition into _build/html/zh from the same outputs (tools/zh_book.py)"
	@echo "make pdf    after make book: _build/pdf/resnet-hands-on.pdf and resnet-hands-on-zh.pdf from the"
	@echo "            same outputs (nothing executed), with XeLaTeX (see the README), copied to _build/html/pdf"
	@echo "make pdf-test  both PDFs checked as a reader would (pages, titles, fonts, figures, margins)"
	@echo "make test   all unit tests + every notebook executed in a fresh kernel, timed, then its"
	@echo "            student edition's exercises in the same kernel; caches outputs for make book"
	@echo "make unit   the fast unit tests (pytest -m 'not slow')"
	@echo "make timings  every notebook timed against the promise: 60 s each, 300 s in all (bf16 where"
	@echo "            the CPU has it), then 90 s / 450 s with RESNET_UTILS_PRECISION=fp32; both tables"
	@echo "make compat the fast unit tests and every chapter on the oldest torch pyproject.toml declares"
	@echo "            and on the newest installable one; writes the README's 'verified with' table"
	@echo "make lab    open the notebooks in JupyterLab"
	@echo "make student  the student edition (solutions replaced by stubs) in student/"
	@echo "make student-check  execute every student notebook on its own (make test covers it)"
	@echo "make grade SUBMISSIONS=dir  grade a class (one folder per student) into dir-grades/:"
	@echo "            grades.csv and feedback/<student>.md (GRADE_FLAGS=\"--timeout 300\")"
	@echo "make browser-test  every page of the built book in headless Chromium (after make book),"
	@echo "            with axe-core's WCAG 2.1 A/AA audit in the light and dark theme"
	@echo "make zh-todo  what the Chinese edition (translations/zh) still needs translated, or stale"
	@echo "make setup-cells  write every notebook's setup cell and the README's badges from _config.yml"
	@echo "make clean  remove _build and caches (keeps .venv)"

# The environment: created when missing, reinstalled when requirements change.
$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# (not --no-compile: where PYTHONDONTWRITEBYTECODE is set, as on CI's machines, every import
	@# would then compile its modules again; pip's up-front compile is 40 s of CPU well spent)
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements.txt
	@# Strip outputs from notebooks on `git add` (the tests check it as well).
	@# --keep-id: the cell ids stay as they are (the Chinese translations are keyed by them);
	@# nbstripout --install does not record that flag, so the filter is set after it.
	@if git rev-parse --git-dir >/dev/null 2>&1; then $(BIN)/nbstripout --install --attributes .gitattributes \
		&& git config filter.nbstripout.clean "'$(abspath $(BIN))/python' -m nbstripout --keep-id" || true; fi
	@touch $(STAMP)

venv: $(STAMP)

# Notebooks are executed through the jupyter-cache in _build/.jupyter_cache (execute_notebooks: cache),
# where `make test` stores every notebook it ran; book_cache.py first clears it if resnet_utils/,
# pyproject.toml or requirements.txt changed since. Without a cache every notebook is executed.
# --all reads every page again (seconds, with the cache filled): Sphinx alone would keep the pages of
# unchanged notebooks from the last build, whatever the cache holds now or the sources became, and a
# failing notebook would fail only the first build. Without MPLBACKEND (CI sets it to Agg): the
# kernels draw their figures inline, into the pages.
# Then the Chinese edition (tools/zh_book.py): the English outputs with the Chinese prose of
# translations/zh, nothing executed again, into _build/html/zh. Every English cell and page must have
# an up-to-date translation (`make zh-todo` lists what is missing): `make test` fails otherwise.
book: $(STAMP)
	$(BIN)/python tools/fetch_assets.py
	$(BIN)/python tools/book_cache.py
	env -u MPLBACKEND $(BIN)/jupyter-book build . --all --warningiserror --nitpick --keep-going
	$(BIN)/python tools/zh_book.py build
	@echo "The book is in _build/html/index.html, 中文版 in _build/html/zh/index.html"

# The book on paper (tools/pdf_book.py): a PDF of each edition from the outputs `make book` used,
# nothing executed again, through Jupyter Book's LaTeX builder and XeLaTeX (TeX Live: the README
# lists the Debian packages; .ci/run installs them), into _build/pdf, and a copy into
# _build/html/pdf, where every page's header links to its edition's PDF. Fails on a Sphinx warning,
# a LaTeX error, an undefined reference or a character no font has. `make pdf-test` checks the
# PDFs as a reader would (pdf_tests/, with poppler-utils).
pdf: $(STAMP)
	$(BIN)/python tools/pdf_book.py build

pdf-test: $(STAMP)
	$(BIN)/python -m pytest pdf_tests -q

# The fast unit tests; `make test` runs the slow ones (training runs, kernels, subprocesses) too.
unit: $(STAMP)
	$(BIN)/python -m pytest tests -q -m "not slow"

# Every notebook in a fresh kernel, timed (table in _build/timings.md), stored in the book's cache,
# then the student edition's cells from its first exercise on in the same kernel. The guard: the
# promise (60 s a chapter, 300 s in all) plus 25 % for a shared machine's noise (two runs of the
# book on one machine an hour apart differed by 17-37 % in the slower chapters, 12 % of it in the
# calibration step itself), scaled up on a machine slower than the one the promise is stated for (tools/run_notebooks.py: a calibration step in the precision the
# chapters train in, against the reference's). `make timings` holds the book to the promise itself.
notebooks: $(STAMP)
	$(BIN)/python tools/run_notebooks.py --max-notebook 75 --max-total 375 --scale-to-machine $(NOTEBOOKS)

# The promise, twice: in the precision precision="auto" picks here (bf16 on a CPU with bf16
# instructions: no notebook over 60 s, the book within 300 s), then as a CPU without bf16 runs it
# (RESNET_UTILS_PRECISION=fp32: 90 s and 450 s). Both tables side by side in _build/timings-all.md;
# fails if either run is over its budget. (The student editions are left to `make test`.)
timings: $(STAMP)
	@status=0; \
	$(BIN)/python tools/run_notebooks.py --max-notebook 60 --max-total 300 --no-student \
		--out _build/timings $(NOTEBOOKS) || status=1; \
	RESNET_UTILS_PRECISION=fp32 $(BIN)/python tools/run_notebooks.py --max-notebook 90 \
		--max-total 450 --no-student --no-cache --out _build/timings-fp32 $(NOTEBOOKS) || status=1; \
	$(BIN)/python tools/timings_report.py _build/timings.json _build/timings-fp32.json || status=1; \
	exit $$status

# The torch versions the book declares, tested (tools/compat.py): a venv per pair, .venv-compat-<torch>,
# with the floor of pyproject.toml (torch 2.4.1 + torchvision 0.19.1) and the newest installable pair
# where it is newer than the pin; the fast unit tests and every chapter there. Writes the "verified
# with" table (book/_verified_with.md, and the README between its markers).
compat: $(STAMP)
	$(BIN)/python tools/compat.py

# The unit tests in two processes, one thread each (most are tiny models, imports, kernels and
# subprocesses, which one thread runs as fast as two): 2-3x faster on two cores than one process.
# worksteal: a process that runs out of tests takes some of the other's.
PYTEST_PARALLEL := -n 2 --dist worksteal

test: $(STAMP)
	$(BIN)/ruff check notebooks resnet_utils tests tools browser_tests pdf_tests
	$(BIN)/ruff format --check notebooks resnet_utils tests tools browser_tests pdf_tests
	$(BIN)/python tools/zh_book.py check
	$(BIN)/python tools/setup_cell.py --check $(NOTEBOOKS)
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest tests -q $(PYTEST_PARALLEL) --durations=15
	$(MAKE) notebooks

student: $(STAMP)
	$(BIN)/python -m resnet_utils.classroom.student notebooks student

# The student edition runs up to its exercises; only the stubs' own failures are tolerated.
# (`make test` checks the same after each notebook, in its kernel; this executes them on their own.)
student-check: student
	$(BIN)/python -m resnet_utils.classroom.student --check student/*.ipynb

# Grade a class: SUBMISSIONS holds one folder per student with their student-edition notebooks;
# each notebook runs in its own time- and memory-limited kernel, checked by the book's own checks
# (resnet_utils/classroom/grade.py, the teacher guide's "Grading a class"). The results go next to the
# submissions, outside the repository: they name students.
GRADES = $(patsubst %/,%,$(SUBMISSIONS))-grades
grade: $(STAMP)
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=dir [GRADE_FLAGS=...]" >&2; exit 1; }
	$(BIN)/python -m resnet_utils.classroom.grade "$(SUBMISSIONS)" --csv "$(GRADES)/grades.csv" \
		--feedback-dir "$(GRADES)/feedback" $(GRADE_FLAGS)

# Every page of the built book in headless Chromium (needs `make book` and Debian's chromium).
# Its accessibility audit runs axe-core, pinned in browser_tests/package.json and installed here
# from npm (once; nothing is fetched while the tests run).
AXE := browser_tests/node_modules/axe-core/axe.min.js
$(AXE): browser_tests/package.json browser_tests/package-lock.json
	cd browser_tests && npm ci --no-audit --no-fund --loglevel=error
	@touch $(AXE)

browser-test: $(STAMP) $(AXE)
	$(BIN)/python -m pytest browser_tests -q $(PYTEST_PARALLEL)

# The first code cell of every notebook installs resnet_utils where it is missing (Colab, Kaggle),
# from the repository URL in _config.yml at the tag v<version>; the README's badges follow the same
# URL. Run after changing that URL or the version; `make test` fails while they disagree.
setup-cells: $(STAMP)
	$(BIN)/python tools/setup_cell.py $(NOTEBOOKS)

# The Chinese edition: the cells and pages without an up-to-date translation (exit 1 if any).
zh-todo: $(STAMP)
	$(BIN)/python tools/zh_book.py status

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks

clean:
	rm -rf _build .pytest_cache .jupyter_cache
	find . -name __pycache__ -not -path "./$(VENV)/*" -exec rm -rf {} +
