// AccuracyTally: ranks with ties broken as Ops.ArgMax does (first index wins), top-5 with fewer than five
// classes, cross-entropy against a direct log-softmax, NaN logits never correct, and bad shapes rejected.
using FluentAssertions;
using IlgpuVit.Tests.Support;
using IlgpuVit.Training;

namespace IlgpuVit.Tests.Training;

public class AccuracyTallyTests
{
    [Fact]
    public void Rank_counts_larger_logits_and_equal_ones_at_lower_indices()
    {
        float[] row = [0.5f, 2f, 2f, -1f, 3f, 2f, 0f];
        AccuracyTally.Rank(row, 4).Should().Be(0);
        AccuracyTally.Rank(row, 1).Should().Be(1);
        AccuracyTally.Rank(row, 2).Should().Be(2, "the tie with class 1 goes to the lower index");
        AccuracyTally.Rank(row, 5).Should().Be(3);
        AccuracyTally.Rank(row, 3).Should().Be(6);
    }

    [Fact]
    public void Top1_top5_and_loss_over_batches_of_odd_sizes()
    {
        const int classes = 7;
        var random = new Random(3);
        var tally = new AccuracyTally();
        int top1 = 0, top5 = 0, images = 0;
        double loss = 0;
        foreach (int batch in new[] { 1, 7, 31, 33 })
        {
            var logits = Enumerable.Range(0, batch * classes).Select(_ => (float)(random.NextDouble() * 6 - 3)).ToArray();
            var labels = Enumerable.Range(0, batch).Select(_ => random.Next(classes)).ToArray();
            tally.Add(logits, labels, classes);
            for (int i = 0; i < batch; i++)
            {
                var row = logits.Skip(i * classes).Take(classes).Select(v => (double)v).ToArray();
                var order = Enumerable.Range(0, classes).OrderByDescending(c => row[c]).ToList();
                if (order[0] == labels[i]) top1++;
                if (order.Take(5).Contains(labels[i])) top5++;
                loss += Math.Log(row.Sum(Math.Exp)) - row[labels[i]];
            }
            images += batch;
        }
        tally.Images.Should().Be(images);
        tally.Top1.Should().Be((double)top1 / images);
        tally.Top5.Should().Be((double)top5 / images);
        tally.Top5.Should().BeGreaterThan(tally.Top1);
        Check.Close([(float)tally.Loss], [loss / images], rtol: 1e-6, atol: 1e-6, what: "mean cross-entropy");
    }

    [Fact]
    public void With_fewer_than_five_classes_every_image_is_in_the_top_5_and_nan_is_never_right()
    {
        var tally = new AccuracyTally();
        tally.Add([1f, 0f, 0f, 1f, float.NaN, 0f], [1, 1, 0], classes: 2);
        tally.Top1.Should().Be(1 / 3.0, "only the second image's label has the largest logit");
        tally.Top5.Should().Be(2 / 3.0, "a NaN logit ranks last even with two classes");
    }

    [Fact]
    public void Bad_shapes_and_labels_are_rejected()
    {
        var tally = new AccuracyTally();
        FluentActions.Invoking(() => tally.Add(new float[5], [0, 1], 3)).Should().Throw<ArgumentException>().WithMessage("*5 values are not 2 rows of 3*");
        FluentActions.Invoking(() => tally.Add(new float[6], [0, 3], 3)).Should().Throw<ArgumentException>().WithMessage("Label 3 of image 1*");
        tally.Images.Should().Be(0);
        tally.Top1.Should().Be(0);
    }
}
