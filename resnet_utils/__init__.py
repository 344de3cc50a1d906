"""Helpers for the book *ResNet, hands-on*: the core a student reads, and the tools around it.

The core, one small module per concern (what the chapters teach, then use):

==============  ================================================  ==========
module          concern                                           chapters
==============  ================================================  ==========
``ops``         convolution from the formula                      1
``models``      residual blocks, ResNet-18/34/50, the CIFAR       2-4, 9
                family (original and pre-activation), the
                architecture registry
``data``        digits and CIFAR-10, splits, loaders              0, 5-9
``step``        one training step (every loop uses it)            6, 9, 10
``train``       the training loop ``fit`` and ``evaluate``        0, 2, 3, 6-9
``seeds``       several seeds trained at once (``fit_seeds``)     2, 3, 6, 7, 10
``findings``    comparisons over seeds with a computed verdict;   2, 3, 6-9
                findings checked at the book's settings
``lr_finder``   the learning-rate range test                      6
``checkpoint``  crash-safe checkpoints, the training state to     6
                resume from, weight fingerprints
``metrics``     predictions, classification metrics, calibration  0, 7
``explain``     shapes, blocks and features of a network;         4, 8, 9
                feature maps, Grad-CAM, saliency, block
                deletion, loss landscapes
``pretrain``    contrastive pretraining (NT-Xent, views)          9
``finetune``    pretrained weights, freezing, the transfer        9
                experiment
``bench``       FLOPs, matmul peak, the throughput benchmark      1, 4, 10
``ddp``         DistributedDataParallel and its one-process       10
                reference
``runtime``     device, precision, seeding, versions              all
==============  ================================================  ==========

Around it:

==============  ================================================  ==========
module          concern                                           chapters
==============  ================================================  ==========
``recipes``     the book's recipes, the sweep that chose them     0, 6, 7
``plots``       figures: curves, image grids                      all
``tables``      Markdown tables of results                        0-7
``widgets``     the interactive explorers (extra ``widgets``;     1, 5, 7
                their page twins in ``static/``)
``cli/``        the command lines (``python -m resnet_utils.      -
                train``, ``.finetune``, ``.bench``, ``.ddp``)
                and what they share
``classroom/``  the exercises' checkers, the student edition,     1-10
                the grader, the exercise markers they share
==============  ================================================  ==========

Private: the validation rules of the public boundary, one per argument
name (``_checks``), and what the explorers' page twins share (``_twin``).
"""

__version__ = "0.2.0"
