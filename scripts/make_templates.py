"""Writes the DOCX templates of content/templates (docxtpl: Jinja tags inside Word paragraphs).

The forms follow the Perm procedure (seeds/002_2743579d7a2fec27.txt): the agreement is Appendix 3,
the protocol is form 1.3 "Протокол о результатах встречи сторон" without the offence's fields (the
bot never asks them), the report sums up the accounting card (Appendix 6). Edit the templates in
Word freely afterwards; run this script only to start again from scratch:

    .venv/bin/python scripts/make_templates.py
"""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.document import Document as DocxDocument
from docx.shared import Pt

OUT = Path(__file__).resolve().parents[1] / "content" / "templates"
SIGN = "____________________"


def _doc() -> DocxDocument:
    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "Times New Roman"
    style.font.size = Pt(12)
    return doc


def agreement() -> None:
    doc = _doc()
    doc.add_heading("Договор", level=1)
    doc.add_paragraph("по результатам восстановительной программы, случай {{ code }} (Приложение № 3)")
    doc.add_heading("Предмет и стороны", level=2)
    doc.add_paragraph(
        "Участники восстановительной программы договорились о том, как будут строить отношения в семье "
        "после возвращения участницы, и приняли на себя обязанности, перечисленные ниже."
    )
    doc.add_paragraph("{%p for p in parties %}")
    doc.add_paragraph("{{ p.name }} — {{ p.role }}")
    doc.add_paragraph("{%p endfor %}")
    doc.add_heading("Обязанности сторон", level=2)
    doc.add_paragraph("{%p for side in sides %}")
    doc.add_paragraph("{{ side.name }}:")
    doc.add_paragraph("{%p for duty in side.duties %}")
    doc.add_paragraph("— {{ duty }}")
    doc.add_paragraph("{%p endfor %}")
    doc.add_paragraph("{%p endfor %}")
    doc.add_heading("Ответственность сторон в случае невыполнения условий договора", level=2)
    doc.add_paragraph("{{ consequences }}")
    doc.add_heading("Действие договора", level=2)
    doc.add_paragraph("Договор заключён {{ concluded }} сроком по {{ valid_until }}.")
    doc.add_heading("Участники договора", level=2)
    doc.add_paragraph("{%p for p in parties %}")
    doc.add_paragraph("{{ p.name }} " + SIGN + " (подпись)")
    doc.add_paragraph("{%p endfor %}")
    doc.add_paragraph("Ведущий восстановительной программы {{ facilitator }} " + SIGN + " (подпись)")
    doc.save(str(OUT / "agreement.docx"))


def protocol() -> None:
    doc = _doc()
    doc.add_heading("Протокол о результатах встречи сторон", level=1)
    doc.add_paragraph("Случай {{ code }}. {{ territory }}. Дата встречи: {{ meeting_date }}.")
    doc.add_paragraph("Участники встречи:")
    doc.add_paragraph("{%p for p in parties %}")
    doc.add_paragraph("{{ p.name }} — {{ p.role }}")
    doc.add_paragraph("{%p endfor %}")
    doc.add_heading("Позиция участницы", level=2)
    doc.add_paragraph("{{ position_1 }}")
    doc.add_heading("Позиция семьи", level=2)
    doc.add_paragraph("{{ position_2 }}")
    doc.add_heading("Стороны договорились о следующем / не договорились (причина)", level=2)
    doc.add_paragraph("{{ agreed }}")
    doc.add_heading("Дальнейшие намерения", level=2)
    doc.add_paragraph(
        "Был поставлен вопрос: «Как сделать, чтобы подобное не повторилось?» "
        "Участники встречи высказали по этому поводу следующее:"
    )
    doc.add_paragraph("{{ no_repeat }}")
    doc.add_heading("Примечания", level=2)
    doc.add_paragraph("{{ notes }}")
    doc.add_heading("Организация дальнейших встреч", level=2)
    doc.add_paragraph("Участники высказали по поводу необходимости дальнейших встреч следующее:")
    doc.add_paragraph("{{ further }}")
    doc.add_paragraph("Подписи участников:")
    doc.add_paragraph("{%p for p in parties %}")
    doc.add_paragraph("{{ p.name }} " + SIGN)
    doc.add_paragraph("{%p endfor %}")
    doc.add_paragraph("Ведущий восстановительной программы {{ facilitator }} " + SIGN)
    doc.save(str(OUT / "protocol.docx"))


def report() -> None:
    doc = _doc()
    doc.add_heading("Отчёт о проведении восстановительной программы", level=1)
    doc.add_paragraph("Случай {{ code }} (без имён: данные учётной карточки ВП, Приложение № 6)")
    table = doc.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for label, value in (
        ("Территория", "{{ territory }}"),
        ("Учреждение", "{{ institution }}"),
        ("Ведущий программы", "{{ facilitator }}"),
        ("Источник информации", "{{ source }}"),
        ("Число участников / их представителей", "{{ participants }} / {{ representatives }}"),
        ("Тип конфликта", "{{ conflict_type }}"),
        ("Характер конфликта", "{{ nature }}"),
        ("Тип программы", "{{ programme_type }}"),
        ("Опыт восстановительных программ", "{{ earlier }}"),
        ("Дата ситуации", "{{ situation_date }}"),
        ("Дата передачи дела ведущему", "{{ handed_date }}"),
        ("Случай зарегистрирован", "{{ registered }}"),
        ("Начало программы (предварительные встречи)", "{{ started }}"),
        ("Общая встреча", "{{ meeting_date }}"),
        ("Программа завершена", "{{ closed }}"),
        ("Результат программы", "{{ result }}"),
        ("Причина, если результата нет", "{{ no_result_reason }}"),
        (
            "Договор",
            "{% if has_agreement %}заключён {{ concluded }}, действует по {{ valid_until }}{% else %}нет{% endif %}",
        ),
        ("Дата написания отчёта", "{{ report_date }}"),
    ):
        cells = table.add_row().cells
        cells[0].text, cells[1].text = label, value
    doc.add_paragraph("")
    doc.add_paragraph("Копия договора прилагается, если он заключён и участники согласны.")
    doc.add_paragraph("Ведущий восстановительной программы {{ facilitator }} " + SIGN + " (подпись)")
    doc.save(str(OUT / "report.docx"))


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    agreement()
    protocol()
    report()
