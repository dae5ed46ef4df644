"""Face models: MTCNN (converted from facenet-pytorch's MIT weights) and dlib's ResNet embedding
(converted from dlib's CC0 weights), plus code to train or fine-tune both on your own data."""
