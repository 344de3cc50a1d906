"""The classroom tools around the book: checkers, the student edition, the grader.

==============  ==========================================================
module          concern
==============  ==========================================================
``exercises``   the checkers the chapters' exercises call (``check_...``)
``markers``     the exercise markers of the notebooks, read in one place
``student``     the student edition (extra ``classroom``):
                ``python -m resnet_utils.classroom.student``
``grade``       grade a class's notebooks (extra ``teacher``):
                ``python -m resnet_utils.classroom.grade``
==============  ==========================================================
"""
