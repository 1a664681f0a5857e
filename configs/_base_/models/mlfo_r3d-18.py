# MLFO's encoder and losses: R3D-18 (Hara, 7x7x7 stem, no temporal
# max-pool) with the temporal neck of three feature levels, and the clip
# augmentation of the MLFOViews, shared by the MLFO pretraining configs of
# configs/mlfo/ (the parity table: configs/mlfo/README.md). The dataset
# bases own clip_len (16 here), train_pipeline and train_dataloader, so a
# config builds its MLFOViews from clip_pipeline and max_rate below.
# num_prototypes sizes the prototypes and the queue: 1000, what the
# released code builds whatever --cluster says; a config sets its --cluster.
crop = 112
max_rate = 3.0  # frame rate U[1, 3]
# the released code's behaviour where mmcmd also offers another (see the
# parity table of configs/mlfo/README.md): other GPUs' features gathered
# without gradient (train.py:220-226), the global head's BatchNorm over
# clip 1, clip 2 and the global clip in one batch (model.py:99-101, 114),
# Sinkhorn over a queue-length window that holds the batch (train.py:252-254)
gather_grad = 'reference'
model = dict(
    type='MLFO',
    backbone=dict(type='R3DResNet', depth=18, temporal_pool=False,
                  out_indices=(1, 2, 3)),
    # low 128 x 8, mid 256 x 4 (reversed + motion-excited), high 512 x 2
    neck=dict(type='MLFOTemporalNeck', time_steps=(8, 4, 2),
              excite_levels=(0, 1), reduction=16),
    clip_shape=(16, crop, crop),  # clip_len of the dataset bases
    out_channels=128,
    num_prototypes=1000,
    queue_length=1024,
    level_weights=(0.3, 0.5, 1.0),
    instance_loss=dict(type='MLFOInstanceLoss', temperature=0.07,
                       gather_grad=gather_grad),
    timestamp_loss=dict(type='MLFOTimestampLoss', temperature=0.07),
    motion_loss=dict(type='MLFOMotionContrastLoss', temperature=0.07,
                     gather_grad=gather_grad),
    proto_loss=dict(type='MLFOSwAVLoss', temperature=0.1, epsilon=0.05,
                    iterations=3, loss_weight=0.5, queue_rows='reference'),
    graph_loss=dict(type='MLFOGraphLoss', temperature=0.07,
                    gather_grad=gather_grad),
    graph_temperature=0.07,
    graph_threshold=0.05,  # --thres
    global_head_batch='joint',
    data_preprocessor=dict(type='CMDDataPreprocessor'))

# every clip draws its own: frames force-resized to 200 x 150, random
# resized crop (area 0.5-1, aspect 3/4-4/3) to 112, flip 0.5, colour jitter
# (0.5, 0.5, 0.5, 0.25) always, random grey 0.5. The released code draws
# jitter and grey per FRAME (flicker); here once per clip.
clip_pipeline = [
    dict(type='CMDResize', scale=(200, 150)),
    dict(type='CMDRandomResizedCrop', area_range=(0.5, 1.0),
         aspect_ratio_range=(3 / 4, 4 / 3), scale=(crop, crop)),
    dict(type='CMDFlip', flip_ratio=0.5),
    dict(type='CMDColorAugment', keys=('imgs', ),
         jitter=(0.5, 0.5, 0.5, 0.25), jitter_prob=1.0, grayscale_prob=0.5,
         blur_prob=0.0),
    dict(type='PackCMDInputs'),
]
